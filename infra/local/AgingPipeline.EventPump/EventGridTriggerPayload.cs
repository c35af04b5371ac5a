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
    /// <summary>Creates the invocation request for one event.</summary>
    /// <param name="gridEvent">The event in the Event Grid schema, as Event Grid would post it (one object).</param>
    /// <param name="functionAppUrl">Base URL of the custom handler.</param>
    /// <param name="functionName">The function to invoke (its folder name, e.g. <c>OnImageUploaded</c>).</param>
    /// <param name="bindingName">The trigger's binding name in its <c>function.json</c>.</param>
    /// <param name="utcNow">The invocation time (<c>sys.UtcNow</c>).</param>
    public static HttpRequestMessage CreateRequest(BinaryData gridEvent, Uri functionAppUrl, string functionName, string bindingName, DateTimeOffset utcNow) =>
        HostInvocation.CreateRequest(Serialize(gridEvent, functionName, bindingName, utcNow), functionAppUrl, functionName);

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
        return HostInvocation.Write(functionName, utcNow,
            writer =>
            {
                writer.WritePropertyName(bindingName);
                root.WriteTo(writer);
            },
            writer =>
            {
                if (root.TryGetProperty("data", out var data) && data.ValueKind != JsonValueKind.Null)
                {
                    writer.WritePropertyName("data");
                    data.WriteTo(writer);
                }
            });
    }
}
