using System.Net;
using AgingPipeline.Contracts;
using AgingPipeline.IntegrationTests.Infrastructure;
using AgingPipeline.Storage;
using Azure.Storage.Queues;
using Polly;

namespace AgingPipeline.IntegrationTests;

public sealed class StorageTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private static JobRecord NewRecord() => new()
    {
        JobId = JobIds.FromBlob("uploads", Guid.NewGuid().ToString(), "\"0x1\""),
        State = JobState.Queued,
        InputContainer = "uploads",
        InputBlob = "a/b.png",
        CreatedAt = DateTimeOffset.UtcNow,
        UpdatedAt = DateTimeOffset.UtcNow,
    };

    [Fact]
    public async Task Create_is_create_only_and_returns_the_etag_the_next_conditional_write_needs()
    {
        var record = NewRecord();
        var created = await fixture.Jobs.TryCreateAsync(record);
        Assert.NotNull(created);
        Assert.Null(await fixture.Jobs.TryCreateAsync(record with { State = JobState.Failed }));
        var stored = (await fixture.Jobs.GetAsync(record.JobId))!;
        Assert.Equal(JobState.Queued, stored.Record.State);
        Assert.Equal(stored.ETag, created);
        Assert.NotNull(await fixture.Jobs.TryReplaceAsync(record.JobId, record with { Attempts = 1 }, created.Value));
    }

    [Fact]
    public async Task Concurrent_updates_are_all_applied_through_etag_retries()
    {
        var record = NewRecord();
        await fixture.Jobs.TryCreateAsync(record);
        var store = new JobStore(fixture.Clients.Jobs, StorageResilience.Create(fixture.Clients.Options));
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => store.UpdateAsync(record.JobId, r => r with { Attempts = r.Attempts + 1 })));
        Assert.Equal(8, (await store.GetAsync(record.JobId))!.Record.Attempts);
    }

    [Fact]
    public async Task A_stale_etag_write_is_refused()
    {
        var record = NewRecord();
        await fixture.Jobs.TryCreateAsync(record);
        var stale = (await fixture.Jobs.GetAsync(record.JobId))!;
        Assert.NotNull(await fixture.Jobs.TryReplaceAsync(record.JobId, stale.Record with { Attempts = 1 }, stale.ETag));
        Assert.Null(await fixture.Jobs.TryReplaceAsync(record.JobId, stale.Record with { Attempts = 2 }, stale.ETag));
        Assert.Equal(1, (await fixture.Jobs.GetAsync(record.JobId))!.Record.Attempts);
        Assert.Null(await fixture.Jobs.UpdateAsync(NewRecord().JobId, r => r));
    }

    [Fact]
    public async Task Queue_round_trip_with_base64_on_the_wire_lease_renewal_and_poison()
    {
        var queue = fixture.Queue;
        var jobId = JobIds.FromBlob("uploads", Guid.NewGuid().ToString(), "\"0x9\"");
        var message = new JobMessage(1, jobId, "uploads", "q/x.png", "\"0x9\"", [20, 40], "character-ager", null, null, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        await queue.EnqueueAsync(message);

        var raw = new QueueClient(fixture.Azurite.ConnectionString, BlobNames.JobsQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        var peeked = (await raw.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString()).ToArray();
        Assert.Contains(peeked, text => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(text)).Contains(jobId, StringComparison.Ordinal));

        var received = (await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30))).Single(m => m.Message?.JobId == jobId);
        Assert.Equal(message, received.Message! with { TargetAges = message.TargetAges });
        Assert.Equal([20, 40], received.Message!.TargetAges);
        Assert.Equal(1, received.DequeueCount);
        var renewed = await queue.ExtendVisibilityAsync(received, TimeSpan.FromSeconds(30));
        Assert.NotEqual(received.PopReceipt, renewed.PopReceipt);
        var gone = await Assert.ThrowsAsync<PipelineException>(() => queue.ExtendVisibilityAsync(received, TimeSpan.FromSeconds(30)));
        Assert.Equal(PipelineErrorCode.InputGone, gone.Code);

        await queue.MoveToPoisonAsync(renewed);
        Assert.DoesNotContain(await queue.PeekAsync(), m => m.Message?.JobId == jobId);
        var poison = (await queue.ReceivePoisonAsync(32)).Single(m => m.Message?.JobId == jobId);
        Assert.True(await queue.DeletePoisonAsync(poison));
        Assert.False(await queue.DeletePoisonAsync(poison));
    }

    [Fact]
    public async Task A_message_that_is_not_a_job_message_is_received_with_its_problem()
    {
        var raw = new QueueClient(fixture.Azurite.ConnectionString, BlobNames.PoisonQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await raw.SendMessageAsync("{\"schemaVersion\":99,\"jobId\":\"x\"}");
        var received = await fixture.Queue.ReceivePoisonAsync(32);
        var odd = Assert.Single(received, m => m.Body.Contains("99", StringComparison.Ordinal));
        Assert.Null(odd.Message);
        Assert.Contains("schema version 99", odd.Problem);
        await fixture.Queue.DeletePoisonAsync(odd);
    }

    [Fact]
    public async Task Read_links_give_the_blob_and_expire_with_their_signature()
    {
        var name = $"{Guid.NewGuid():N}/out.age40.png";
        await fixture.Clients.Aged.GetBlobClient(name).UploadAsync(new BinaryData(TestImages.Png()));
        using var links = new BlobReadLinks(fixture.Clients);
        var link = await links.ForAgedOutputAsync(name);
        Assert.Contains("sig=", link.Query);
        Assert.Contains("sp=r", link.Query);
        using var http = new HttpClient();
        Assert.Equal(TestImages.Png(), await http.GetByteArrayAsync(link));
        var unsigned = await http.GetAsync(link.GetLeftPart(UriPartial.Path));
        Assert.NotEqual(HttpStatusCode.OK, unsigned.StatusCode);
    }

    [Fact]
    public async Task Unreachable_storage_becomes_StorageUnavailable_after_retries()
    {
        var clients = new StorageClients(new StorageOptions
        {
            ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AzuriteInstance.AccountKey +
                ";BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;",
            MaxRetryAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            RetryMaxDelay = TimeSpan.FromMilliseconds(20),
        });
        var attempts = 0;
        var pipeline = new Polly.ResiliencePipelineBuilder()
            .AddStorageRetry(clients.Options)
            .AddStrategy(_ => new CountingStrategy(() => attempts++), new CountingStrategyOptions())
            .Build();
        var store = new JobStore(clients.Jobs, pipeline);
        var error = await Assert.ThrowsAsync<PipelineException>(() => store.GetAsync(NewRecord().JobId));
        Assert.Equal(PipelineErrorCode.StorageUnavailable, error.Code);
        Assert.True(error.IsTransient);
        Assert.Contains("read job record", error.Message);
        Assert.Equal(3, attempts);
    }

    private sealed class CountingStrategyOptions : Polly.ResilienceStrategyOptions
    {
    }

    private sealed class CountingStrategy(Action onExecute) : Polly.ResilienceStrategy
    {
        protected override ValueTask<Polly.Outcome<TResult>> ExecuteCore<TResult, TState>(
            Func<Polly.ResilienceContext, TState, ValueTask<Polly.Outcome<TResult>>> callback, Polly.ResilienceContext context, TState state)
        {
            onExecute();
            return callback(context, state);
        }
    }
}
