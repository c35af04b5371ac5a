using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Azure.Storage.Queues.Models;

namespace AgingPipeline.EventPump;

/// <summary>Builds the request the Azure Functions host sends to a custom handler for a queue trigger
/// (default <c>"dataType"</c>, <c>messageEncoding: base64</c> already undone by the queue client).</summary>
/// <remarks>
/// <para>The shape, from the host's <c>ScriptInvocationContextExtensions.ToHttpScriptInvocationContext</c> and the
/// queues extension's trigger binding data (<c>QueueTriggerBinding.CreateBindingData</c>, extension 5.x):</para>
/// <code>
/// POST /OnPoisonJob
/// X-Azure-Functions-InvocationId: &lt;guid&gt;
/// X-Azure-Functions-HostVersion: &lt;version&gt;
/// User-Agent: Azure-Functions-Host/&lt;version&gt;
/// Content-Type: application/json; charset=utf-8
///
/// {"Data": {"message": "\"{\\\"schemaVersion\\\":1,…}\""},
///  "Metadata": {
///    "DequeueCount": "1",
///    "ExpirationTime": "\"2026-11-29T12:00:00+00:00\"",
///    "Id": "\"3f5c…\"",
///    "InsertionTime": "\"2026-11-22T12:00:00+00:00\"",
///    "NextVisibleTime": "\"2026-11-22T12:10:00+00:00\"",
///    "PopReceipt": "\"AgAAAAMAAAAAAAAA…\"",
///    "sys": {"MethodName": "OnPoisonJob", "UtcNow": "…", "RandGuid": "…"}}}
/// </code>
/// <para>Why it looks like that: the host passes every value through <c>GetHttpScriptInvocationContextValue</c>,
/// which tries Json.NET's <c>JObject.FromObject</c> and, for anything that is not an object (the message string, the
/// numbers, the dates, the ids), falls back to <c>JsonConvert.SerializeObject</c>. The message text and every
/// metadata value therefore arrive JSON-encoded inside a JSON string; only <c>sys</c> (an object) arrives as an
/// object. <c>QueueTrigger</c> is absent because the host drops keys ending in "trigger". Dates are written as
/// Json.NET writes a <c>DateTimeOffset</c> (ISO 8601 with the offset, fractional seconds trimmed).</para>
/// </remarks>
public static class QueueTriggerPayload
{
    /// <summary>Creates the invocation request for one received queue message.</summary>
    /// <param name="message">The message as received (decoded body, metadata, pop receipt).</param>
    /// <param name="functionAppUrl">Base URL of the custom handler.</param>
    /// <param name="functionName">The function to invoke (its folder name, e.g. <c>OnPoisonJob</c>).</param>
    /// <param name="bindingName">The queue trigger's binding name in its <c>function.json</c>.</param>
    /// <param name="utcNow">The invocation time (<c>sys.UtcNow</c>).</param>
    public static HttpRequestMessage CreateRequest(QueueMessage message, Uri functionAppUrl, string functionName, string bindingName, DateTimeOffset utcNow) =>
        HostInvocation.CreateRequest(Serialize(message, functionName, bindingName, utcNow), functionAppUrl, functionName);

    /// <summary>The invocation JSON for <paramref name="message"/>.</summary>
    public static byte[] Serialize(QueueMessage message, string functionName, string bindingName, DateTimeOffset utcNow)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(functionName);
        ArgumentException.ThrowIfNullOrEmpty(bindingName);
        return HostInvocation.Write(functionName, utcNow,
            writer => writer.WriteString(bindingName, JsonNetSerialize(message.Body.ToString())),
            writer =>
            {
                writer.WriteString("DequeueCount", message.DequeueCount.ToString(CultureInfo.InvariantCulture));
                writer.WriteString("ExpirationTime", JsonNetSerialize(message.ExpiresOn.GetValueOrDefault(DateTimeOffset.MaxValue)));
                writer.WriteString("Id", JsonNetSerialize(message.MessageId));
                writer.WriteString("InsertionTime", JsonNetSerialize(message.InsertedOn.GetValueOrDefault(utcNow)));
                writer.WriteString("NextVisibleTime", JsonNetSerialize(message.NextVisibleOn.GetValueOrDefault(DateTimeOffset.MaxValue)));
                writer.WriteString("PopReceipt", JsonNetSerialize(message.PopReceipt));
            });
    }

    /// <summary>What <c>JsonConvert.SerializeObject(text)</c> returns: the text as a JSON string literal.</summary>
    private static string JsonNetSerialize(string? text)
    {
        if (text is null)
        {
            return "null";
        }
        var buffer = new ArrayBufferWriter<byte>(text.Length + 2);
        using (var writer = new Utf8JsonWriter(buffer, HostInvocation.JsonNetLikeWriter))
        {
            writer.WriteStringValue(text);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>What <c>JsonConvert.SerializeObject(dateTimeOffset)</c> returns, e.g. <c>"2026-11-22T12:00:00+00:00"</c>.</summary>
    private static string JsonNetSerialize(DateTimeOffset value) =>
        "\"" + value.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFzzz", CultureInfo.InvariantCulture) + "\"";
}
