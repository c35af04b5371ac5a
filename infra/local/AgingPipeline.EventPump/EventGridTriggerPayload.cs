using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgingPipeline.EventPump;

/// <summary>Builds the request the Azure Functions host sends to a custom handler for an <c>eventGridTrigger</c>,
/// carrying one Event Grid event.</summary>
/// <remarks>
/// <para>In Azure, Event Grid POSTs the event to the host's webhook (<c>/runtime/webhooks/EventGrid?functionName=…</c>);
/// the Event Grid extension hands it to the function as a JSON object, and its binding data holds the event's
/// <c>data</c>. The host's <c>ScriptInvocationContextExtensions.ToHttpScriptInvocationContext</c> then writes both
/// through Json.NET (<c>JObject.FromObject</c>, so they stay objects):</para>
/// <code>
/// POST /OnImageUploaded
/// X-Azure-Functions-InvocationId: &lt;guid&gt;
/// X-Azure-Functions-HostVersion: &lt;version&gt;
/// User-Agent: Azure-Functions-Host/&lt;version&gt;
/// Content-Type: application/json; charset=utf-8
///
/// {"Data": {"eventGridEvent": {"topic": "…", "subject": "/blobServices/default/containers/uploads/blobs/b/cat.png",
///                              "eventType": "Microsoft.Storage.BlobCreated", "id": "…", "eventTime": "…",
///                              "data": {"api": "PutBlob", "eTag": "0x8DC…", "contentLength": 1234, "url": "…", …},
///                              "dataVersion": "", "metadataVersion": "1"}},
///  "Metadata": {"data": {"api": "PutBlob", "eTag": "0x8DC…", …},
///               "sys": {"MethodName": "OnImageUploaded", "UtcNow": "…", "RandGuid": "…"}}}
/// </code>
/// <para>A few hundred bytes whatever the blob's size: the blob's content never travels with the event.</para>
/// </remarks>
public static class EventGridTriggerPayload
{
    /// <summary>The host version the pump announces.</summary>
    public const string HostVersion = "4.0.0-local-event-pump";

    private static readonly JsonWriterOptions s_jsonNetLikeWriter = new()
    {
        // Json.NET escapes only what JSON requires; the relaxed encoder is the closest System.Text.Json comes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Creates the invocation request for one event.</summary>
    /// <param name="gridEvent">The event in the Event Grid schema, as Event Grid would post it (one object).</param>
    /// <param name="functionAppUrl">Base URL of the custom handler.</param>
    /// <param name="functionName">The function to invoke (its folder name, e.g. <c>OnImageUploaded</c>).</param>
    /// <param name="bindingName">The trigger's binding name in its <c>function.json</c>.</param>
    /// <param name="utcNow">The invocation time (<c>sys.UtcNow</c>).</param>
    public static HttpRequestMessage CreateRequest(BinaryData gridEvent, Uri functionAppUrl, string functionName, string bindingName, DateTimeOffset utcNow)
    {
        ArgumentNullException.ThrowIfNull(gridEvent);
        ArgumentNullException.ThrowIfNull(functionAppUrl);
        var content = new ByteArrayContent(Serialize(gridEvent, functionName, bindingName, utcNow));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(functionAppUrl, functionName)) { Content = content };
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        request.Headers.Add("X-Azure-Functions-HostVersion", HostVersion);
        request.Headers.UserAgent.ParseAdd($"Azure-Functions-Host/{HostVersion.Split('-')[0]}");
        return request;
    }

    /// <summary>The invocation JSON for <paramref name="gridEvent"/>.</summary>
    /// <exception cref="ArgumentException">The event is not one JSON object.</exception>
    public static byte[] Serialize(BinaryData gridEvent, string functionName, string bindingName, DateTimeOffset utcNow)
    {
        ArgumentNullException.ThrowIfNull(gridEvent);
        ArgumentException.ThrowIfNullOrEmpty(functionName);
        ArgumentException.ThrowIfNullOrEmpty(bindingName);
        using var document = JsonDocument.Parse(gridEvent.ToMemory());
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException("An eventGridTrigger invocation carries one event (a JSON object).", nameof(gridEvent));
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, s_jsonNetLikeWriter))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("Data");
            writer.WritePropertyName(bindingName);
            root.WriteTo(writer);
            writer.WriteEndObject();

            writer.WriteStartObject("Metadata");
            if (root.TryGetProperty("data", out var data) && data.ValueKind != JsonValueKind.Null)
            {
                writer.WritePropertyName("data");
                data.WriteTo(writer);
            }
            writer.WriteStartObject("sys");
            writer.WriteString("MethodName", functionName);
            writer.WriteString("UtcNow", utcNow.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
            writer.WriteString("RandGuid", Guid.NewGuid().ToString());
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
