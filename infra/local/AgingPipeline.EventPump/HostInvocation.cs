using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgingPipeline.EventPump;

/// <summary>What every invocation the pump sends has in common, as the Functions host sends it to a custom handler:
/// the envelope <c>{ "Data": { … }, "Metadata": { …, "sys": { … } } }</c> and the POST to <c>/{function}</c> with the
/// host's headers. The trigger-specific parts are <see cref="EventGridTriggerPayload"/> and
/// <see cref="QueueTriggerPayload"/>.</summary>
public static class HostInvocation
{
    /// <summary>The host version the pump announces.</summary>
    public const string HostVersion = "4.0.0-local-event-pump";

    /// <summary>Json.NET (which the host uses) escapes only what JSON requires; the relaxed encoder is the closest
    /// System.Text.Json comes.</summary>
    internal static readonly JsonWriterOptions JsonNetLikeWriter = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The POST of <paramref name="payload"/> to the function, with the host's headers.</summary>
    /// <param name="payload">The invocation JSON (<see cref="Write"/>).</param>
    /// <param name="functionAppUrl">Base URL of the custom handler.</param>
    /// <param name="functionName">The function to invoke (its folder name).</param>
    public static HttpRequestMessage CreateRequest(byte[] payload, Uri functionAppUrl, string functionName)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(functionAppUrl);
        var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(functionAppUrl, functionName)) { Content = content };
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        request.Headers.Add("X-Azure-Functions-HostVersion", HostVersion);
        request.Headers.UserAgent.ParseAdd($"Azure-Functions-Host/{HostVersion.Split('-')[0]}");
        return request;
    }

    /// <summary>The invocation JSON: <paramref name="writeData"/> fills <c>Data</c>, <paramref name="writeMetadata"/>
    /// the trigger's metadata before <c>sys</c> (method name, time, a random GUID).</summary>
    public static byte[] Write(string functionName, DateTimeOffset utcNow, Action<Utf8JsonWriter> writeData, Action<Utf8JsonWriter> writeMetadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(functionName);
        ArgumentNullException.ThrowIfNull(writeData);
        ArgumentNullException.ThrowIfNull(writeMetadata);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, JsonNetLikeWriter))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("Data");
            writeData(writer);
            writer.WriteEndObject();
            writer.WriteStartObject("Metadata");
            writeMetadata(writer);
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
