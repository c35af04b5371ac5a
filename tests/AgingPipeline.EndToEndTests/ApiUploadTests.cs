using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace AgingPipeline.EndToEndTests;

/// <summary>The web form's and the CLI's way in: <c>POST /api/uploads</c>, then the same storage event path.</summary>
[Collection(PipelineStackCollection.Name)]
public sealed class ApiUploadTests(PipelineStackFixture fixture)
{
    [Fact]
    public async Task Three_images_uploaded_through_the_api_at_three_ages_end_as_three_succeeded_jobs()
    {
        var stack = fixture.Stack;
        var inputs = Enumerable.Range(0, 3).ToDictionary(i => $"character-{i}.png", i => TestImages.Character(i + 3, "png"));
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("20,40,60"), "ages");
        foreach (var (name, content) in inputs)
        {
            var part = new ByteArrayContent(content);
            part.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(part, "files", name);
        }

        using var response = await stack.Http.PostAsync("api/uploads", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {body}");
        using var accepted = JsonDocument.Parse(body);
        var batchId = accepted.RootElement.GetProperty("batchId").GetString()!;
        var jobs = accepted.RootElement.GetProperty("jobs").EnumerateArray()
            .ToDictionary(j => j.GetProperty("jobId").GetString()!, j => j.GetProperty("fileName").GetString()!);
        Assert.Equal(3, jobs.Count);
        Assert.Equal(inputs.Keys.Order(), jobs.Values.Order());

        var records = await stack.WaitForJobsAsync(jobs.Keys, TimeSpan.FromSeconds(180));
        foreach (var (jobId, fileName) in jobs)
        {
            var record = records[jobId];
            await JobChecks.AssertSucceededAsync(stack, record, [20, 40, 60], inputs[fileName], "png");
            Assert.Equal(batchId, record.BatchId);
            Assert.Equal(fileName, record.OriginalName);
        }

        using var batch = JsonDocument.Parse(await stack.Http.GetStringAsync($"api/batches/{batchId}"));
        Assert.True(batch.RootElement.GetProperty("done").GetBoolean());
        Assert.Equal(3, batch.RootElement.GetProperty("counts").GetProperty("succeeded").GetInt32());

        // The user's view of one job: three short-lived links that download decodable images of the input's size.
        var someJob = jobs.Keys.First();
        using var status = JsonDocument.Parse(await stack.Http.GetStringAsync($"api/jobs/{someJob}"));
        Assert.Equal("succeeded", status.RootElement.GetProperty("state").GetString());
        var links = status.RootElement.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("url").GetString()!).ToArray();
        Assert.Equal(3, links.Length);
        using var download = new HttpClient();
        foreach (var link in links)
        {
            var facts = TestImages.Decode(await download.GetByteArrayAsync(link));
            Assert.Equal((256, 256), (facts.Width, facts.Height));
        }
    }
}
