using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgingPipeline.Contracts;
using Azure.Messaging.EventGrid;
using Azure.Messaging.EventGrid.SystemEvents;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.EventPump;

/// <summary>An Event Grid event (Event Grid schema) as it travels on the wire.</summary>
/// <remarks>Field names and casing follow the Event Grid schema; see <c>event-schema-blob-storage</c>.</remarks>
public sealed record EventGridEnvelope(
    [property: JsonPropertyName("topic")] string Topic,
    [property: JsonPropertyName("subject")] string Subject,
    [property: JsonPropertyName("eventType")] string EventType,
    [property: JsonPropertyName("eventTime")] DateTimeOffset EventTime,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("data")] BlobCreatedData Data,
    [property: JsonPropertyName("dataVersion")] string DataVersion,
    [property: JsonPropertyName("metadataVersion")] string MetadataVersion);

/// <summary>The <c>data</c> of <c>Microsoft.Storage.BlobCreated</c>.</summary>
public sealed record BlobCreatedData(
    [property: JsonPropertyName("api")] string Api,
    [property: JsonPropertyName("clientRequestId")] string ClientRequestId,
    [property: JsonPropertyName("requestId")] string RequestId,
    [property: JsonPropertyName("eTag")] string ETag,
    [property: JsonPropertyName("contentType")] string? ContentType,
    [property: JsonPropertyName("contentLength")] long ContentLength,
    [property: JsonPropertyName("blobType")] string BlobType,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("sequencer")] string Sequencer,
    [property: JsonPropertyName("storageDiagnostics")] IReadOnlyDictionary<string, string> StorageDiagnostics);

/// <summary>Builds the <c>Microsoft.Storage.BlobCreated</c> event that Event Grid would publish for a blob.</summary>
/// <remarks>The event is serialized in the Event Grid wire schema and parsed back with
/// <see cref="EventGridEvent.Parse(BinaryData)"/>: what the pump logs and uses is exactly what an Event Grid
/// subscriber would be able to read, checked by the Event Grid SDK itself. Like Event Grid, every delivery of one
/// event (one blob version) carries the same <c>id</c>.</remarks>
public static class BlobCreatedEvents
{
    /// <summary>The event type.</summary>
    public const string BlobCreatedType = "Microsoft.Storage.BlobCreated";

    /// <summary>Builds the event for one listed blob.</summary>
    /// <param name="accountName">Storage account name (<c>devstoreaccount1</c> on Azurite).</param>
    /// <param name="blobUri">The blob's URI.</param>
    /// <param name="blobName">The blob's name.</param>
    /// <param name="properties">The blob's properties from the listing.</param>
    /// <returns>The wire JSON and the parsed event.</returns>
    public static (BinaryData Json, EventGridEvent Event) Create(string accountName, Uri blobUri, string blobName, BlobItemProperties properties)
    {
        ArgumentNullException.ThrowIfNull(blobUri);
        ArgumentNullException.ThrowIfNull(properties);
        var etag = properties.ETag?.ToString() ?? throw new ArgumentException("The listing carries no ETag.", nameof(properties));
        var lastModified = properties.LastModified ?? DateTimeOffset.UtcNow;
        var envelope = new EventGridEnvelope(
            Topic: $"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/{accountName}",
            Subject: $"/blobServices/default/containers/{BlobNames.UploadsContainer}/blobs/{blobName}",
            EventType: BlobCreatedType,
            EventTime: lastModified,
            Id: EventId(accountName, blobName, etag),
            Data: new BlobCreatedData(
                Api: "PutBlob",
                ClientRequestId: Guid.NewGuid().ToString(),
                RequestId: Guid.NewGuid().ToString(),
                ETag: etag.Trim('"'),
                ContentType: properties.ContentType,
                ContentLength: properties.ContentLength ?? 0,
                BlobType: properties.BlobType switch
                {
                    Azure.Storage.Blobs.Models.BlobType.Append => "AppendBlob",
                    Azure.Storage.Blobs.Models.BlobType.Page => "PageBlob",
                    _ => "BlockBlob",
                },
                Url: blobUri.ToString(),
                Sequencer: lastModified.UtcTicks.ToString("x32", CultureInfo.InvariantCulture),
                StorageDiagnostics: new Dictionary<string, string> { ["batchId"] = Guid.NewGuid().ToString() }),
            DataVersion: "",
            MetadataVersion: "1");
        var json = BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(envelope, EventPumpJsonContext.Default.EventGridEnvelope));
        var parsed = EventGridEvent.Parse(json);
        if (!parsed.TryGetSystemEventData(out var data) || data is not StorageBlobCreatedEventData)
        {
            throw new InvalidOperationException("The built event is not recognised as Microsoft.Storage.BlobCreated.");
        }
        return (json, parsed);
    }

    /// <summary>One id per blob version: a GUID made of the first 16 bytes of SHA-256(account, name, ETag).</summary>
    private static string EventId(string accountName, string blobName, string etag)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{accountName}\n{blobName}\n{etag.Trim('"')}"));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }
}

/// <summary>Source-generated JSON for the pump's own types.</summary>
[JsonSerializable(typeof(EventGridEnvelope))]
[JsonSerializable(typeof(DeliveryState))]
internal sealed partial class EventPumpJsonContext : JsonSerializerContext
{
}
