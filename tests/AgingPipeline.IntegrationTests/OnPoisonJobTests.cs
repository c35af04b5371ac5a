using System.Net;
using System.Text;
using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.IntegrationTests.Infrastructure;
using AgingPipeline.Storage;

namespace AgingPipeline.IntegrationTests;

public sealed class OnPoisonJobTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private static JobMessage MessageFor(string jobId, string? batchId = null) =>
        new(JobMessage.CurrentSchemaVersion, jobId, BlobNames.UploadsContainer, $"x/{jobId}.png", "\"0x1\"", [40], "character-ager", null, batchId, null);

    private async Task<string> CreateAsync(JobState state, PipelineErrorCode code = PipelineErrorCode.None, string? message = null, int attempts = 0)
    {
        var jobId = JobIds.FromBlob("uploads", Guid.NewGuid().ToString(), "\"0x1\"");
        var now = DateTimeOffset.UtcNow;
        Assert.NotNull(await fixture.Jobs.TryCreateAsync(new JobRecord
        {
            JobId = jobId, State = state, InputContainer = "uploads", InputBlob = $"x/{jobId}.png", InputETag = "\"0x1\"", TargetAges = [40],
            ErrorCode = code, ErrorMessage = message, Attempts = attempts, CreatedAt = now, UpdatedAt = now,
        }));
        return jobId;
    }

    [Fact]
    public async Task A_poisoned_queued_job_fails_with_RetriesExhausted()
    {
        var jobId = await CreateAsync(JobState.Queued);
        var body = JobQueue.Serialize(MessageFor(jobId));
        var response = await Invocations.OnPoisonJobAsync(fixture.App.CreateClient(), Invocations.JsonString(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Failed, record.State);
        Assert.Equal(PipelineErrorCode.RetriesExhausted, record.ErrorCode);
        Assert.Contains("abandoned", record.ErrorMessage);
    }

    [Fact]
    public async Task A_more_precise_earlier_code_is_kept()
    {
        var jobId = await CreateAsync(JobState.Processing, PipelineErrorCode.ModelFailed, "the model returned NaN", attempts: 5);
        var body = JobQueue.Serialize(MessageFor(jobId));
        var doubleEncoded = Invocations.JsonString(JsonSerializer.Serialize(body));
        var response = await Invocations.OnPoisonJobAsync(fixture.App.CreateClient(), doubleEncoded, dequeueCount: 2);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Failed, record.State);
        Assert.Equal(PipelineErrorCode.ModelFailed, record.ErrorCode);
        Assert.Contains("5 attempts", record.ErrorMessage);
        Assert.Contains("the model returned NaN", record.ErrorMessage);
    }

    [Theory]
    [InlineData("base64")]
    [InlineData("object")]
    public async Task The_message_is_understood_as_base64_and_as_an_object(string form)
    {
        var jobId = await CreateAsync(JobState.Queued);
        var body = JobQueue.Serialize(MessageFor(jobId));
        var data = form == "base64" ? Invocations.JsonString(Convert.ToBase64String(Encoding.UTF8.GetBytes(body))) : Invocations.Json(body);
        var response = await Invocations.OnPoisonJobAsync(fixture.App.CreateClient(), data);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JobState.Failed, (await fixture.Jobs.GetAsync(jobId))!.Record.State);
    }

    [Fact]
    public async Task A_finished_job_is_left_alone()
    {
        var jobId = await CreateAsync(JobState.Succeeded);
        var before = (await fixture.Jobs.GetAsync(jobId))!;
        var response = await Invocations.OnPoisonJobAsync(fixture.App.CreateClient(), Invocations.JsonString(JobQueue.Serialize(MessageFor(jobId))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var after = (await fixture.Jobs.GetAsync(jobId))!;
        Assert.Equal(JobState.Succeeded, after.Record.State);
        Assert.Equal(before.ETag, after.ETag);
    }

    [Fact]
    public async Task A_job_without_a_record_gets_a_failed_record_in_its_batch()
    {
        var jobId = JobIds.FromBlob("uploads", Guid.NewGuid().ToString(), "\"0x2\"");
        var (batchId, _) = await fixture.CreateBatchRecordAsync();
        var response = await Invocations.OnPoisonJobAsync(fixture.App.CreateClient(), Invocations.JsonString(JobQueue.Serialize(MessageFor(jobId, batchId))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(PipelineErrorCode.RetriesExhausted, record.ErrorCode);
        var batch = await fixture.App.CreateClient().GetStringAsync($"/api/batches/{batchId}");
        Assert.Contains(jobId, batch);
        Assert.Contains("\"failed\":1", batch);
    }

    [Fact]
    public async Task Garbage_is_consumed_and_reported_in_the_logs()
    {
        var response = await Invocations.OnPoisonJobAsync(fixture.App.CreateClient(), Invocations.JsonString("not json at all"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Dropped poison message", await response.Content.ReadAsStringAsync());
    }
}
