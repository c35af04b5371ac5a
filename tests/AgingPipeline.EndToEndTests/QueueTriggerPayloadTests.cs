using System.Text;
using System.Text.Json;
using AgingPipeline.EventPump;
using Azure.Storage.Queues.Models;

namespace AgingPipeline.EndToEndTests;

/// <summary>The pump's poison-queue trigger sends what the Functions host sends a custom handler for a queue trigger
/// (no stack needed: the bytes are checked here, their handling by OnPoisonJob in <see cref="FailureTests"/> and
/// <see cref="FaultTests"/>).</summary>
public sealed class QueueTriggerPayloadTests
{
    [Fact]
    public async Task The_payload_has_the_hosts_shape_with_doubly_encoded_values()
    {
        const string body = "{\"schemaVersion\":1,\"jobId\":\"abc\",\"note\":\"é <&> \\\"quoted\\\"\"}";
        var inserted = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
        var message = QueuesModelFactory.QueueMessage("3f5c0f0e-1111-2222-3333-444455556666", "AgAAAAMAAAAAAAAA", new BinaryData(body), 3,
            nextVisibleOn: inserted.AddMinutes(2), insertedOn: inserted, expiresOn: inserted.AddDays(7));
        var now = new DateTimeOffset(2026, 11, 29, 12, 0, 1, 500, TimeSpan.Zero);

        using var request = QueueTriggerPayload.CreateRequest(message, new Uri("http://127.0.0.1:7071/"), "OnPoisonJob", "message", now);
        var json = await request.Content!.ReadAsStringAsync();
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;

        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://127.0.0.1:7071/OnPoisonJob", request.RequestUri!.ToString());
        Assert.True(Guid.TryParse(request.Headers.GetValues("X-Azure-Functions-InvocationId").Single(), out _));
        Assert.Equal("application/json", request.Content.Headers.ContentType!.MediaType);

        // Data: the message text, JSON-encoded once more (JsonConvert.SerializeObject of a string).
        Assert.Equal(JsonValueKind.String, root.GetProperty("Data").GetProperty("message").ValueKind);
        Assert.Equal(body, JsonSerializer.Deserialize<string>(root.GetProperty("Data").GetProperty("message").GetString()!));

        var metadata = root.GetProperty("Metadata");
        Assert.Equal(["DequeueCount", "ExpirationTime", "Id", "InsertionTime", "NextVisibleTime", "PopReceipt", "sys"],
            metadata.EnumerateObject().Select(p => p.Name));
        Assert.Equal("3", metadata.GetProperty("DequeueCount").GetString());
        Assert.Equal("\"3f5c0f0e-1111-2222-3333-444455556666\"", metadata.GetProperty("Id").GetString());
        Assert.Equal("\"AgAAAAMAAAAAAAAA\"", metadata.GetProperty("PopReceipt").GetString());
        Assert.Equal("\"2026-11-29T12:00:00+00:00\"", metadata.GetProperty("InsertionTime").GetString());
        Assert.Equal("\"2026-11-29T12:02:00+00:00\"", metadata.GetProperty("NextVisibleTime").GetString());
        Assert.Equal("\"2026-12-06T12:00:00+00:00\"", metadata.GetProperty("ExpirationTime").GetString());
        var sys = metadata.GetProperty("sys");
        Assert.Equal("OnPoisonJob", sys.GetProperty("MethodName").GetString());
        Assert.Equal("2026-11-29T12:00:01.5Z", sys.GetProperty("UtcNow").GetString());
        Assert.True(Guid.TryParse(sys.GetProperty("RandGuid").GetString(), out _));
        Assert.DoesNotContain("QueueTrigger", json, StringComparison.Ordinal);
        // Json.NET escapes only what JSON requires: non-ASCII and HTML characters travel as they are.
        Assert.Contains("é <&>", Encoding.UTF8.GetString(QueueTriggerPayload.Serialize(message, "OnPoisonJob", "message", now)), StringComparison.Ordinal);
    }
}
