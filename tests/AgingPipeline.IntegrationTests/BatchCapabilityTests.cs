using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.IntegrationTests.Infrastructure;

namespace AgingPipeline.IntegrationTests;

/// <summary>Issue 15: batches are capabilities. Ids are issued by the server (unguessable), adding to a batch takes its
/// token, and only batches the API created can be read through it.</summary>
public sealed class BatchCapabilityTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private static MultipartFormDataContent Form(string? batchId, string? token, params string[] fileNames)
    {
        var form = new MultipartFormDataContent { { new StringContent("30"), "ages" } };
        if (batchId is not null)
        {
            form.Add(new StringContent(batchId), "batchId");
        }
        if (token is not null)
        {
            form.Add(new StringContent(token), "batchToken");
        }
        foreach (var name in fileNames)
        {
            var content = new ByteArrayContent(TestImages.Png());
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(content, "files", name);
        }
        return form;
    }

    private static async Task<JsonElement> AcceptedAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task A_new_batch_gets_an_unguessable_server_issued_id_and_a_token_that_is_stored_only_as_its_hash()
    {
        var client = fixture.App.CreateClient();

        var body = await AcceptedAsync(await client.PostAsync("/api/uploads", Form(null, null, "a.png")));

        var batchId = body.GetProperty("batchId").GetString()!;
        var token = body.GetProperty("batchToken").GetString()!;
        Assert.True(BatchIds.IsIssuedShape(batchId), batchId);
        Assert.True(token.Length >= 43, token);
        Assert.StartsWith($"{batchId}/", body.GetProperty("jobs")[0].GetProperty("blob").GetString());
        var stored = (await fixture.Clients.Jobs.GetBlobClient(BlobNames.BatchRecord(batchId)).DownloadContentAsync()).Value.Content.ToString();
        Assert.DoesNotContain(token, stored);
        Assert.Contains(BatchIds.HashToken(token), stored);

        var created = await client.PostAsync("/api/batches", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var empty = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.NotEqual(batchId, empty.GetProperty("batchId").GetString());
        Assert.Equal($"/api/batches/{empty.GetProperty("batchId").GetString()}", created.Headers.Location?.OriginalString);
        var listed = await client.GetFromJsonAsync<JsonElement>($"/api/batches/{empty.GetProperty("batchId").GetString()}");
        Assert.Equal(0, listed.GetProperty("total").GetInt32());
        Assert.False(listed.GetProperty("done").GetBoolean());
    }

    /// <summary>The upload API used to take any <c>batchId</c> as the name of a new batch (and so let a second person
    /// join the first one's batch by choosing the same name).</summary>
    [Fact]
    public async Task A_client_chosen_batch_id_is_refused_and_nothing_is_stored()
    {
        var client = fixture.App.CreateClient();
        var before = await fixture.ListAllUploadsAsync();

        var response = await client.PostAsync("/api/uploads", Form("holiday-2026", null, "a.png"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("InvalidRequest", problem.GetProperty("code").GetString());
        Assert.Contains("issued by the server", problem.GetProperty("detail").GetString());
        Assert.Equal(before, await fixture.ListAllUploadsAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/batches/holiday-2026")).StatusCode);
    }

    [Fact]
    public async Task Adding_to_a_batch_takes_its_token_and_a_wrong_token_reads_like_no_batch_at_all()
    {
        var client = fixture.App.CreateClient();
        var first = await AcceptedAsync(await client.PostAsync("/api/uploads", Form(null, null, "one.png")));
        var batchId = first.GetProperty("batchId").GetString()!;
        var token = first.GetProperty("batchToken").GetString()!;

        // The folder's other files, in parallel requests carrying the id and the token, join the same batch.
        var more = await Task.WhenAll(
            client.PostAsync("/api/uploads", Form(batchId, token, "two.png")),
            client.PostAsync("/api/uploads", Form(batchId, token, "three.png")));
        foreach (var response in more)
        {
            var body = await AcceptedAsync(response);
            Assert.Equal(batchId, body.GetProperty("batchId").GetString());
            Assert.False(body.TryGetProperty("batchToken", out _), "the token is handed out once, by the request that made the batch");
        }
        var batch = await client.GetFromJsonAsync<JsonElement>($"/api/batches/{batchId}");
        Assert.Equal(3, batch.GetProperty("total").GetInt32());

        var before = await fixture.ListAllUploadsAsync();
        var otherToken = BatchIds.NewToken();
        var unknownId = BatchIds.New();
        var wrong = await client.PostAsync("/api/uploads", Form(batchId, otherToken, "intruder.png"));
        var unknown = await client.PostAsync("/api/uploads", Form(unknownId, otherToken, "intruder.png"));
        var tokenOnly = await client.PostAsync("/api/uploads", Form(null, token, "intruder.png"));
        var noToken = await client.PostAsync("/api/uploads", Form(batchId, null, "intruder.png"));

        var wrongProblem = await wrong.Content.ReadFromJsonAsync<JsonElement>();
        var unknownProblem = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound), (wrong.StatusCode, unknown.StatusCode));
        Assert.Equal("NotFound", wrongProblem.GetProperty("code").GetString());
        Assert.Equal($"There is no batch {batchId} that this token opens.", wrongProblem.GetProperty("detail").GetString());
        Assert.Equal($"There is no batch {unknownId} that this token opens.", unknownProblem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, tokenOnly.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        Assert.Equal(before, await fixture.ListAllUploadsAsync());
        Assert.Equal(3, (await client.GetFromJsonAsync<JsonElement>($"/api/batches/{batchId}")).GetProperty("total").GetInt32());
    }

    /// <summary>A folder of blobs written straight into <c>uploads/</c> (the README's <c>uploads/drop/</c>) used to read
    /// as a batch through the API, with every job and its result links, to anyone who named the folder.</summary>
    [Fact]
    public async Task A_folder_of_direct_writes_is_not_a_batch_the_api_lists()
    {
        var client = fixture.App.CreateClient();
        var folder = PipelineFixture.Unique("drop");
        await fixture.PutUploadAsync($"{folder}/cat.png", TestImages.Png());
        await fixture.PutUploadAsync($"{folder}/dog.png", TestImages.Png(40, 40), new Dictionary<string, string> { [UploadMetadata.BatchId] = folder });
        foreach (var name in new[] { "cat.png", "dog.png" })
        {
            Assert.Equal(HttpStatusCode.OK, (await Invocations.OnImageUploadedAsync(client, fixture.Clients.Uploads, $"{folder}/{name}")).StatusCode);
        }

        var response = await client.GetAsync($"/api/batches/{folder}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("cat.png", body);
        Assert.DoesNotContain("dog.png", body);
    }
}
