using System.Text.Json;
using AgingPipeline.EventPump;
using Azure;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.EndToEndTests;

/// <summary>The pump's upload trigger sends what the Functions host sends a custom handler for an
/// <c>eventGridTrigger</c>: the BlobCreated event, never the blob (no stack needed: the bytes are checked here, their
/// handling by OnImageUploaded in <see cref="DuplicateDeliveryTests"/> and the integration tests).</summary>
/// <remarks>Replaces the blob-trigger payload tests: the host used to put the whole blob, base64, into <c>Data</c>, and
/// a body whose <c>Data</c> ended near the JSON reader's buffer size was refused; an event has no such size.</remarks>
public sealed class EventGridTriggerPayloadTests
{
    private static (BinaryData Json, byte[] Body) Invocation(long contentLength, DateTimeOffset now)
    {
        var properties = BlobsModelFactory.BlobItemProperties(accessTierInferred: false, eTag: new ETag("\"0x8DD0123456789AB\""),
            contentLength: contentLength, contentType: "image/png", lastModified: now, blobType: BlobType.Block);
        var (json, _) = BlobCreatedEvents.Create("devstoreaccount1", new Uri("http://127.0.0.1:10000/devstoreaccount1/uploads/b/cat.png"), "b/cat.png", properties);
        return (json, EventGridTriggerPayload.Serialize(json, "OnImageUploaded", "eventGridEvent", now));
    }

    [Fact]
    public async Task The_payload_has_the_hosts_shape_with_the_event_as_an_object()
    {
        var now = new DateTimeOffset(2026, 12, 5, 12, 0, 1, 500, TimeSpan.Zero);
        var (json, _) = Invocation(1234, now);

        using var request = EventGridTriggerPayload.CreateRequest(json, new Uri("http://127.0.0.1:7071/"), "OnImageUploaded", "eventGridEvent", now);
        var body = await request.Content!.ReadAsStringAsync();
        var root = JsonDocument.Parse(body).RootElement;

        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://127.0.0.1:7071/OnImageUploaded", request.RequestUri!.ToString());
        Assert.True(Guid.TryParse(request.Headers.GetValues("X-Azure-Functions-InvocationId").Single(), out _));
        Assert.Equal("application/json", request.Content.Headers.ContentType!.MediaType);

        Assert.Equal(["Data", "Metadata"], root.EnumerateObject().Select(p => p.Name));
        var gridEvent = root.GetProperty("Data").GetProperty("eventGridEvent");
        Assert.Equal(JsonValueKind.Object, gridEvent.ValueKind);
        Assert.Equal(JsonDocument.Parse(json.ToString()).RootElement.GetRawText(), gridEvent.GetRawText());
        Assert.Equal(["topic", "subject", "eventType", "eventTime", "id", "data", "dataVersion", "metadataVersion"],
            gridEvent.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Microsoft.Storage.BlobCreated", gridEvent.GetProperty("eventType").GetString());
        Assert.Equal("/blobServices/default/containers/uploads/blobs/b/cat.png", gridEvent.GetProperty("subject").GetString());
        var data = gridEvent.GetProperty("data");
        Assert.Equal("0x8DD0123456789AB", data.GetProperty("eTag").GetString());
        Assert.Equal(1234, data.GetProperty("contentLength").GetInt64());
        Assert.Equal("BlockBlob", data.GetProperty("blobType").GetString());

        // Metadata: the extension's binding data ("data", the event's data) and sys; nothing named *Trigger.
        var metadata = root.GetProperty("Metadata");
        Assert.Equal(["data", "sys"], metadata.EnumerateObject().Select(p => p.Name));
        Assert.Equal(data.GetRawText(), metadata.GetProperty("data").GetRawText());
        Assert.Equal("OnImageUploaded", metadata.GetProperty("sys").GetProperty("MethodName").GetString());
        Assert.Equal("2026-12-05T12:00:01.5Z", metadata.GetProperty("sys").GetProperty("UtcNow").GetString());
    }

    [Fact]
    public void The_payload_is_the_same_size_for_an_empty_blob_and_a_50_MiB_one()
    {
        var now = DateTimeOffset.UtcNow;
        var empty = Invocation(0, now).Body.Length;
        var large = Invocation(50L * 1024 * 1024, now).Body.Length;
        // Only the length's digits differ ("0" vs "52428800"), written twice (the event and Metadata.data).
        Assert.Equal(2 * ("52428800".Length - "0".Length), large - empty);
        Assert.True(large < 1500, $"The invocation is {large} bytes.");
    }
}
