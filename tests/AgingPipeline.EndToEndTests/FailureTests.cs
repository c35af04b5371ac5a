using System.Text.RegularExpressions;
using AgingPipeline.Contracts;

namespace AgingPipeline.EndToEndTests;

/// <summary>Inputs that cannot succeed end as failed jobs with a typed code and a reason; work that keeps failing ends in
/// the poison queue, where OnPoisonJob (triggered locally by the event pump) fails its job.</summary>
[Collection(PipelineStackCollection.Name)]
public sealed class FailureTests(PipelineStackFixture fixture)
{
    private static readonly TimeSpan s_jobTimeout = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("truncated")]
    [InlineData("garbage-after-signature")]
    public async Task A_corrupt_png_ends_as_a_failed_job_with_CorruptImage(string damage)
    {
        var stack = fixture.Stack;
        var valid = TestImages.Character(8, "png");
        var content = damage switch
        {
            // The header (signature + IHDR) is intact, so the upload is accepted; the pixels end half-way.
            "truncated" => valid[..(valid.Length * 6 / 10)],
            _ => [.. valid[..8], .. Enumerable.Range(0, 4000).Select(i => (byte)(i * 7919 % 251))],
        };
        var jobId = await stack.PutUploadAsync($"corrupt-{Guid.NewGuid():N}/{damage}.png", content,
            new Dictionary<string, string> { [UploadMetadata.Ages] = "40" });

        var record = await stack.WaitForJobAsync(jobId, s_jobTimeout);

        await JobChecks.AssertFailedAsync(stack, record, PipelineErrorCode.CorruptImage);
        Assert.True(record.Attempts <= 1, $"A corrupt image is not worth retrying; it was tried {record.Attempts} times.");
        Assert.DoesNotContain(await stack.Queue.PeekAsync(), m => m.Message?.JobId == jobId);
    }

    [Fact]
    public async Task A_gif_named_png_ends_as_a_failed_job_with_UnsupportedFormat()
    {
        var stack = fixture.Stack;
        var jobId = await stack.PutUploadAsync($"gif-{Guid.NewGuid():N}/really-a-gif.png", TestImages.Gif(9),
            new Dictionary<string, string> { [UploadMetadata.Ages] = "40" });

        var record = await stack.WaitForJobAsync(jobId, s_jobTimeout);

        await JobChecks.AssertFailedAsync(stack, record, PipelineErrorCode.UnsupportedFormat);
        Assert.Equal(0, record.Attempts);
        Assert.Null(record.EnqueuedAt);
    }

    [Fact]
    public async Task A_job_that_fails_on_every_delivery_goes_to_the_poison_queue_and_ends_failed()
    {
        var stack = fixture.Stack;
        // nan-ager (tests/fixtures/faulty-models) returns NaN above 80 years: ModelFailed, a transient error, every time.
        var jobId = await stack.PutUploadAsync($"poison-{Guid.NewGuid():N}/character.png", TestImages.Character(10, "png"),
            new Dictionary<string, string> { [UploadMetadata.Ages] = "90", [UploadMetadata.Model] = "nan-ager" });

        var record = await stack.WaitForJobAsync(jobId, TimeSpan.FromSeconds(180));

        // The last delivery leaves its cause on the record; the poison handler fails the job with it.
        await JobChecks.AssertFailedAsync(stack, record, PipelineErrorCode.ModelFailed);
        Assert.Equal(5, record.Attempts);
        Assert.Contains("5 attempts", record.ErrorMessage);
        Assert.Contains("The last error was:", record.ErrorMessage);
        Assert.Equal(5, Regex.Count(stack.AllRunnerLogs(), $"Job {jobId} failed (transiently|on its last allowed delivery)"));
        // Delivered by the pump's poison-queue trigger with a 2xx, then deleted.
        await Poll.UntilAsync(() => Task.FromResult(Regex.IsMatch(stack.Pump.ReadLog(), $@"Delivered poison message \S+ \(dequeue count 1\): 200 .*Job {jobId} is Failed")),
            TimeSpan.FromSeconds(30), () => "the pump to log the delivery\n" + stack.Pump.Tail(40));
        Assert.DoesNotContain(await stack.Queue.PeekPoisonAsync(), m => m.Message?.JobId == jobId);
        Assert.DoesNotContain(await stack.Queue.PeekAsync(), m => m.Message?.JobId == jobId);
    }
}
