using System.Net;
using AgingPipeline.Contracts;

namespace AgingPipeline.EndToEndTests;

/// <summary>The host's blob-trigger payload carries the whole blob as base64 in <c>Data</c>; OnImageUploaded must read
/// the invocation whatever its size.</summary>
[Collection(PipelineStackCollection.Name)]
public sealed class InvocationPayloadTests(PipelineStackFixture fixture)
{
    /// <summary>Regression: the handler skipped <c>Data</c> with <c>Utf8JsonReader.Skip()</c>, which throws whenever the
    /// reader's buffer is not the final block of the body, i.e. when <c>Data</c> ended within ~1.3 KB (the metadata
    /// that follows) before the deserializer's buffer size (16 KiB, 32 KiB, 64 KiB, …). Such uploads were answered 400
    /// on every delivery and their events dead-lettered: 14 of the 713 corpus files never became jobs. Blobs of every
    /// size across the first two boundaries (in 64-byte steps) must now be ingested.</summary>
    [Fact]
    public async Task Blobs_of_every_size_around_the_json_buffer_boundaries_are_ingested()
    {
        var stack = fixture.Stack;
        var folder = $"sizes-{Guid.NewGuid():N}";
        var sizes = Enumerable.Range(0, 48).Select(i => 10_500 + i * 64).Concat(Enumerable.Range(0, 48).Select(i => 22_800 + i * 64)).ToArray();
        var failures = new List<string>();
        var jobIds = new List<string>();
        foreach (var size in sizes)
        {
            // Not an image (a refused upload still gets a job record), so the runner has nothing to do.
            var content = new byte[size];
            new Random(size).NextBytes(content);
            var name = $"{folder}/{size}.bin";
            jobIds.Add(await stack.PutUploadAsync(name, content, new Dictionary<string, string> { [UploadMetadata.Ages] = "40" }));
            var payload = await HostInvocations.CaptureBlobCreatedAsync(stack, name);
            var (status, body) = await HostInvocations.DeliverAsync(stack, "OnImageUploaded", payload);
            if (status != HttpStatusCode.OK)
            {
                failures.Add($"{size} bytes (payload {payload.Length}): {(int)status} {body}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {sizes.Length} invocations were refused:\n" + string.Join("\n", failures.Take(10)));
        var records = await stack.WaitForJobsAsync(jobIds, TimeSpan.FromSeconds(60));
        Assert.All(records.Values, r => Assert.Equal(PipelineErrorCode.UnsupportedFormat, r.ErrorCode));
    }
}
