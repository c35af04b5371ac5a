using System.Net;
using System.Text.RegularExpressions;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.EndToEndTests;

/// <summary>Event Grid delivers at least once, late and out of order. The job id is derived from the blob, so no
/// number of deliveries makes a second job or a second set of outputs.</summary>
[Collection(PipelineStackCollection.Name)]
public sealed class DuplicateDeliveryTests(PipelineStackFixture fixture)
{
    [Fact]
    public async Task The_same_BlobCreated_delivered_three_times_out_of_order_and_late_makes_one_job_with_one_set_of_outputs()
    {
        var stack = fixture.Stack;
        var folder = $"dup-{Guid.NewGuid():N}";
        var inputA = TestImages.Character(6, "png");
        var inputB = TestImages.Character(7, "png");
        var jobA = await stack.PutUploadAsync($"{folder}/a.png", inputA, new Dictionary<string, string> { [UploadMetadata.Ages] = "30,70" });
        var jobB = await stack.PutUploadAsync($"{folder}/b.png", inputB, new Dictionary<string, string> { [UploadMetadata.Ages] = "30" });
        var eventA = await HostInvocations.CaptureBlobCreatedAsync(stack, $"{folder}/a.png");
        var eventB = await HostInvocations.CaptureBlobCreatedAsync(stack, $"{folder}/b.png");

        // A, B, A again: a duplicate arriving after another blob's event (the pump delivers each once more on its own).
        foreach (var payload in new[] { eventA, eventB, eventA })
        {
            var (status, body) = await HostInvocations.DeliverAsync(stack, "OnImageUploaded", payload);
            Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {body}");
        }
        var records = await stack.WaitForJobsAsync([jobA, jobB], TimeSpan.FromSeconds(120));

        // Late: the job has succeeded, the event comes once more.
        var (lateStatus, lateBody) = await HostInvocations.DeliverAsync(stack, "OnImageUploaded", eventA);
        Assert.Equal(HttpStatusCode.OK, lateStatus);
        Assert.Contains($"Job {jobA} already exists (Succeeded); repeated event ignored.", lateBody);

        await JobChecks.AssertSucceededAsync(stack, records[jobA], [30, 70], inputA, "png");
        await JobChecks.AssertSucceededAsync(stack, records[jobB], [30], inputB, "png");
        Assert.Equal(3, (await stack.ListOutputsAsync(jobA)).Count);
        Assert.Equal(1, records[jobA].Attempts);

        // One record for the blob, no message left for it in either queue, one success in the runner's log.
        Assert.Equal([jobA], await JobIdsForInputAsync(stack, $"{folder}/a.png"));
        Assert.DoesNotContain(await stack.Queue.PeekAsync(), m => m.Message?.JobId == jobA);
        Assert.DoesNotContain(await stack.Queue.PeekPoisonAsync(), m => m.Message?.JobId == jobA);
        Assert.Single(Regex.Matches(stack.AllRunnerLogs(), $"Job {jobA} succeeded"));
    }

    private static async Task<IReadOnlyList<string>> JobIdsForInputAsync(LocalStack stack, string inputBlob)
    {
        var found = new List<string>();
        await foreach (var item in stack.Clients.Jobs.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: null, CancellationToken.None))
        {
            // Job records sit at the container's root ({jobId}.json); batches/ holds batch records and markers.
            if (!item.Name.EndsWith(".json", StringComparison.Ordinal) || item.Name.Contains('/', StringComparison.Ordinal))
            {
                continue;
            }
            var content = (await stack.Clients.Jobs.GetBlobClient(item.Name).DownloadContentAsync()).Value.Content;
            var record = JobStore.Deserialize(item.Name[..^5], content);
            if (record.InputBlob == inputBlob)
            {
                found.Add(record.JobId);
            }
        }
        return found;
    }
}
