using System.Text.Json;
using AgingPipeline.Contracts;
using Azure.Storage.Blobs;

namespace AgingPipeline.Functions.CustomHandler;

/// <summary>A storage event (Event Grid schema) as the Functions host hands an <c>eventGridTrigger</c> to a custom
/// handler, reduced to what OnImageUploaded needs.</summary>
/// <remarks>
/// <para>The host's Event Grid webhook (<c>/runtime/webhooks/EventGrid?functionName=…</c>) answers the subscription's
/// validation handshake itself and invokes the function once per event: <c>{"Data": {"eventGridEvent": {…the event…}},
/// "Metadata": {"data": {…the event's data…}, "sys": {…}}}</c>. The event is the JSON Event Grid posted, in its own
/// camelCase: <c>id</c>, <c>topic</c>, <c>subject</c> (<c>/blobServices/default/containers/uploads/blobs/b/cat.png</c>),
/// <c>eventType</c>, <c>eventTime</c>, and <c>data</c> with <c>api</c>, <c>url</c>, <c>eTag</c>, <c>contentType</c>,
/// <c>contentLength</c>, <c>blobType</c>, <c>sequencer</c>.</para>
/// <para>Nothing of the blob's content travels: the handler reads the blob's first bytes itself. The event may arrive
/// as an object or as a string holding its JSON (once or twice encoded, as the host writes values Json.NET cannot
/// make an object of); both are read.</para>
/// </remarks>
/// <param name="Id">The event id (the same on every redelivery of one event).</param>
/// <param name="EventType">The event type, e.g. <c>Microsoft.Storage.BlobCreated</c>.</param>
/// <param name="Subject">The subject.</param>
/// <param name="Container">The container, from the subject (or the URL when the subject does not name a blob).</param>
/// <param name="BlobName">The blob name, unescaped; null when the event names no blob.</param>
/// <param name="Url">The blob URL, when sent.</param>
/// <param name="ETag">The ETag of the blob version the event is about, when sent (Event Grid sends it unquoted).</param>
/// <param name="ContentLength">The blob's length at the event, when sent.</param>
/// <param name="ContentType">The blob's content type at the event, when sent.</param>
public sealed record EventGridBlobEvent(
    string? Id,
    string EventType,
    string? Subject,
    string? Container,
    string? BlobName,
    Uri? Url,
    string? ETag,
    long? ContentLength,
    string? ContentType)
{
    /// <summary>The event type of a new or overwritten blob.</summary>
    public const string BlobCreatedType = "Microsoft.Storage.BlobCreated";

    private const string SubjectPrefix = "/blobServices/default/containers/";
    private const string BlobsSegment = "/blobs/";

    /// <summary>True for <c>Microsoft.Storage.BlobCreated</c>.</summary>
    public bool IsBlobCreated => string.Equals(EventType, BlobCreatedType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Extracts the event from an invocation body.</summary>
    /// <param name="request">The parsed body.</param>
    /// <param name="bindingName">The trigger's binding name in <c>function.json</c>.</param>
    /// <exception cref="PipelineException">InvalidRequest when the body carries no Event Grid event.</exception>
    public static EventGridBlobEvent From(InvocationRequest request, string bindingName)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Data is null || request.Data.Count == 0)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, "The invocation carries no event.");
        }
        var value = HostValues.Get(request.Data, bindingName)
            ?? (request.Data.Count == 1 ? request.Data.Values.First() : (JsonElement?)null)
            ?? throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The invocation carries no event under '{bindingName}'.");
        var text = HostValues.MessageText(value)
            ?? throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The invocation's '{bindingName}' is not an event.");
        try
        {
            using var document = JsonDocument.Parse(text);
            return Parse(document.RootElement);
        }
        catch (JsonException ex)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The invocation's '{bindingName}' is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Reads one event in the Event Grid schema.</summary>
    /// <exception cref="PipelineException">InvalidRequest when it is not an object or has no <c>eventType</c>.</exception>
    public static EventGridBlobEvent Parse(JsonElement gridEvent)
    {
        if (gridEvent.ValueKind != JsonValueKind.Object)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, "The event is not a JSON object.");
        }
        var eventType = StringProperty(gridEvent, "eventType");
        if (string.IsNullOrEmpty(eventType))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, "The event has no eventType (is it in the Event Grid schema?).");
        }
        var subject = StringProperty(gridEvent, "subject");
        Uri? url = null;
        string? eTag = null, contentType = null;
        long? contentLength = null;
        if (Property(gridEvent, "data") is { ValueKind: JsonValueKind.Object } data)
        {
            url = Uri.TryCreate(StringProperty(data, "url"), UriKind.Absolute, out var parsed) ? parsed : null;
            eTag = StringProperty(data, "eTag");
            contentType = StringProperty(data, "contentType");
            contentLength = HostValues.GetInt64(data, "contentLength");
        }
        var (container, blobName) = ParseSubject(subject);
        if (blobName is null && url is not null)
        {
            var parts = new BlobUriBuilder(url);
            container = string.IsNullOrEmpty(parts.BlobContainerName) ? container : parts.BlobContainerName;
            blobName = string.IsNullOrEmpty(parts.BlobName) ? null : parts.BlobName;
        }
        return new EventGridBlobEvent(StringProperty(gridEvent, "id"), eventType, subject, container, blobName, url, eTag, contentLength, contentType);
    }

    /// <summary>Container and blob name from <c>/blobServices/default/containers/{container}/blobs/{name}</c>.</summary>
    /// <returns>Nulls for what the subject does not name.</returns>
    public static (string? Container, string? BlobName) ParseSubject(string? subject)
    {
        if (subject is null || !subject.StartsWith(SubjectPrefix, StringComparison.Ordinal))
        {
            return (null, null);
        }
        var rest = subject[SubjectPrefix.Length..];
        var blobs = rest.IndexOf(BlobsSegment, StringComparison.Ordinal);
        if (blobs < 0)
        {
            return (rest.Length == 0 ? null : rest.TrimEnd('/'), null);
        }
        var name = rest[(blobs + BlobsSegment.Length)..];
        return (rest[..blobs], name.Length == 0 ? null : name);
    }

    /// <summary>A line that names the event, for logs.</summary>
    public override string ToString() => $"{EventType} {Id ?? "(no id)"} {Subject ?? Url?.ToString() ?? "(no subject)"}";

    private static JsonElement? Property(JsonElement obj, string name)
    {
        if (obj.TryGetProperty(name, out var exact))
        {
            return exact;
        }
        foreach (var property in obj.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }
        return null;
    }

    private static string? StringProperty(JsonElement obj, string name) =>
        Property(obj, name) is { } value ? HostValues.AsString(value) : null;
}
