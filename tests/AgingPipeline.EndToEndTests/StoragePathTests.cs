using AgingPipeline.Contracts;

namespace AgingPipeline.EndToEndTests;

/// <summary>Integration through storage events only: a program writes a blob into <c>uploads</c> with the Azure SDK,
/// no API call, and the aged outputs appear in <c>aged/</c>.</summary>
[Collection(PipelineStackCollection.Name)]
public sealed class StoragePathTests(PipelineStackFixture fixture)
{
    private static readonly TimeSpan s_jobTimeout = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("png")]
    [InlineData("jpg")]
    [InlineData("webp")]
    public async Task A_blob_written_straight_into_uploads_is_aged_at_every_requested_age(string format)
    {
        var stack = fixture.Stack;
        var input = TestImages.Character(0, format);
        var blob = $"direct-{Guid.NewGuid():N}/character.{format}";

        var jobId = await stack.PutUploadAsync(blob, input, new Dictionary<string, string> { [UploadMetadata.Ages] = "20,60" });
        var record = await stack.WaitForJobAsync(jobId, s_jobTimeout);

        await JobChecks.AssertSucceededAsync(stack, record, [20, 60], input, format);
        Assert.Equal(blob, record.InputBlob);
        Assert.Equal(stack.ModelName, record.ModelName);
        Assert.Equal(1, record.Attempts);
        // Image content never goes into a log (it did, through Polly's result logging, before the runner's
        // appsettings.json set Polly to Warning).
        Assert.DoesNotContain("IDAT", stack.AllRunnerLogs(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blob_without_options_is_aged_at_the_default_ages()
    {
        var stack = fixture.Stack;
        var input = TestImages.Character(1, "png");
        var blob = $"direct-{Guid.NewGuid():N}/no-metadata.png";

        var jobId = await stack.PutUploadAsync(blob, input);
        var record = await stack.WaitForJobAsync(jobId, s_jobTimeout);

        // Uploads:DefaultAges of the function app's appsettings.json.
        await JobChecks.AssertSucceededAsync(stack, record, [20, 40, 60, 80], input, "png");
    }
}
