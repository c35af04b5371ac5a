using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AgingPipeline.Contracts;
using NetVips;

namespace AgingPipeline.EndToEndTests;

/// <summary>Face-aware ageing through the whole stack: the upload API, the storage event, the runner's face detector,
/// head-crop ageing and blend-back, the job record and <c>GET /api/jobs/{id}</c>.</summary>
[Collection(PipelineStackCollection.Name)]
public sealed class FaceRegionTests(PipelineStackFixture fixture)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task Two_characters_side_by_side_come_back_with_both_heads_aged_and_the_space_between_them_untouched()
    {
        var stack = fixture.Stack;
        if (stack.ModelName != "character-ager")
        {
            Assert.Fail($"This test needs the shipped face-aware ager; the stack serves {stack.ModelName}.");
        }
        // 544 × 256 RGBA: two 256² characters at x 0–255 and 288–543 on a transparent strip.
        var input = File.ReadAllBytes(Path.Combine(RepoPaths.Root, "tests", "fixtures", "faces", "two-characters.png"));
        // Ages far from the characters' own (young adults), so that any ager worth shipping changes both faces.
        var jobId = await UploadAsync(stack, input, "two-characters.png", "10,80", "faces");

        var record = await stack.WaitForJobAsync(jobId, s_timeout);
        await JobChecks.AssertSucceededAsync(stack, record, [10, 80], input, "png");
        Assert.Equal(AgingRegion.Faces, record.Region);
        var outcome = Assert.IsType<RegionOutcome>(record.RegionOutcome);
        Assert.Equal(RegionOutcome.FacesApplied, outcome.Applied);
        Assert.Equal(2, outcome.Faces.Count);
        var (left, right) = outcome.Faces[0].Box.X < outcome.Faces[1].Box.X
            ? (outcome.Faces[0], outcome.Faces[1])
            : (outcome.Faces[1], outcome.Faces[0]);
        Assert.InRange(left.Box.X + (left.Box.Width / 2), 60, 200);
        Assert.InRange(right.Box.X + (right.Box.Width / 2), 350, 490);

        using var before = Pixels(input);
        foreach (var output in record.Outputs)
        {
            using var after = Pixels(await stack.DownloadOutputAsync(output.Blob));
            // The strip between the two characters (and everything but the heads) is the input byte for byte.
            Assert.Equal(0.0, MaxDifference(before, after, 258, 0, 28, 256));
            Assert.Equal(0.0, MaxDifference(before, after, 0, 250, 544, 6));
            // Both heads changed.
            foreach (var face in new[] { left, right })
            {
                var change = MeanDifference(before, after, (int)face.Box.X, (int)face.Box.Y, (int)face.Box.Width, (int)face.Box.Height);
                Assert.True(change >= 1.0, $"age {output.Age}: the face at x {face.Box.X:0} changed by only {change:0.###} levels");
            }
        }

        // The user's view: GET /api/jobs/{id} says which region was aged and where the faces are.
        using var status = JsonDocument.Parse(await stack.Http.GetStringAsync($"api/jobs/{jobId}"));
        var region = status.RootElement.GetProperty("region");
        Assert.Equal("faces", region.GetProperty("requested").GetString());
        Assert.Equal("faces", region.GetProperty("applied").GetString());
        Assert.Equal(2, region.GetProperty("faces").GetArrayLength());
    }

    [Fact]
    public async Task A_landscape_ends_NoFaceFound_when_faces_were_required_and_is_aged_whole_under_auto()
    {
        var stack = fixture.Stack;
        var landscape = Landscape();
        var facesJob = await UploadAsync(stack, landscape, "landscape.png", "60", "faces");
        var autoJob = await UploadAsync(stack, landscape, "landscape-auto.png", "60", "auto");

        var records = await stack.WaitForJobsAsync([facesJob, autoJob], s_timeout);

        var failed = records[facesJob];
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Equal(PipelineErrorCode.NoFaceFound, failed.ErrorCode);
        Assert.Contains("No face was found", failed.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, failed.Attempts);
        Assert.Empty(failed.Outputs);
        using (var status = JsonDocument.Parse(await stack.Http.GetStringAsync($"api/jobs/{facesJob}")))
        {
            Assert.Equal("failed", status.RootElement.GetProperty("state").GetString());
            Assert.Contains("NoFaceFound", status.RootElement.ToString(), StringComparison.Ordinal);
        }

        var whole = records[autoJob];
        await JobChecks.AssertSucceededAsync(stack, whole, [60], landscape, "png");
        var outcome = Assert.IsType<RegionOutcome>(whole.RegionOutcome);
        Assert.Equal(RegionOutcome.WholeFrameApplied, outcome.Applied);
        Assert.Empty(outcome.Faces);
        Assert.Contains("No face was found", outcome.Reason, StringComparison.Ordinal);
    }

    private static async Task<string> UploadAsync(LocalStack stack, byte[] content, string name, string ages, string region)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(ages), "ages");
        form.Add(new StringContent(region), "region");
        var part = new ByteArrayContent(content);
        part.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(part, "files", name);
        using var response = await stack.Http.PostAsync("api/uploads", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {body}");
        using var accepted = JsonDocument.Parse(body);
        return accepted.RootElement.GetProperty("jobs")[0].GetProperty("jobId").GetString()!;
    }

    /// <summary>A 480 × 320 landscape without a face: a sky gradient over two bands of hills.</summary>
    private static byte[] Landscape()
    {
        const int width = 480, height = 320;
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var hill = 200 + (int)(30 * Math.Sin(x / 50.0)) + (int)(12 * Math.Sin(x / 13.0));
                var far = 170 + (int)(25 * Math.Sin((x / 80.0) + 1));
                (byte R, byte G, byte B) c = y > hill ? ((byte)(60 + (y % 7)), (byte)(120 + (x % 11)), (byte)50)
                    : y > far ? ((byte)90, (byte)140, (byte)110)
                    : ((byte)(120 + (y / 4)), (byte)(170 + (y / 6)), (byte)235);
                var o = ((y * width) + x) * 3;
                (pixels[o], pixels[o + 1], pixels[o + 2]) = c;
            }
        }
        using var image = Image.NewFromMemory(pixels, width, height, 3, Enums.BandFormat.Uchar);
        return image.PngsaveBuffer();
    }

    private static Image Pixels(byte[] png) => Image.NewFromBuffer(png, failOn: Enums.FailOn.Error).Cast(Enums.BandFormat.Float);

    private static double MaxDifference(Image a, Image b, int left, int top, int width, int height)
    {
        using var x = a.ExtractArea(left, top, width, height);
        using var y = b.ExtractArea(left, top, width, height);
        using var difference = (x - y).Abs();
        return difference.Max();
    }

    private static double MeanDifference(Image a, Image b, int left, int top, int width, int height)
    {
        left = Math.Max(0, left);
        top = Math.Max(0, top);
        width = Math.Min(width, a.Width - left);
        height = Math.Min(height, a.Height - top);
        using var x = a.ExtractBand(0, 3).ExtractArea(left, top, width, height);
        using var y = b.ExtractBand(0, 3).ExtractArea(left, top, width, height);
        using var difference = (x - y).Abs();
        return difference.Avg();
    }
}
