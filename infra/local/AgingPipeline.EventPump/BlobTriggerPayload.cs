using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.EventPump;

/// <summary>Builds the request the Azure Functions host sends to a custom handler for a blob trigger
/// (<c>"source": "EventGrid"</c>, <c>"dataType": "binary"</c>), byte for byte in shape.</summary>
/// <remarks>
/// <para>The shape, from the host's <c>ScriptInvocationContextExtensions.ToHttpScriptInvocationContext</c> and the
/// blobs extension's trigger binding data (<c>BlobTrigger</c>, <c>Uri</c>, <c>Properties</c>, <c>Metadata</c>, path
/// parameters):</para>
/// <code>
/// POST /OnImageUploaded
/// X-Azure-Functions-InvocationId: &lt;guid&gt;
/// X-Azure-Functions-HostVersion: &lt;version&gt;
/// User-Agent: Azure-Functions-Host/&lt;version&gt;
/// Content-Type: application/json; charset=utf-8
///
/// {"Data": {"upload": "&lt;base64 of the whole blob&gt;"},
///  "Metadata": {
///    "Uri": "\"http://127.0.0.1:10000/devstoreaccount1/uploads/b/cat.png\"",
///    "Properties": {"LastModified": "…", "ContentLength": 1234, "ContentType": "image/png", "ETag": {}, "BlobType": 0, …},
///    "Metadata": {"ages": "20,40", "batchid": "b", …},
///    "name": "\"b/cat.png\"",
///    "sys": {"MethodName": "OnImageUploaded", "UtcNow": "…", "RandGuid": "…"}}}
/// </code>
/// <para>Quirks reproduced on purpose: <c>BlobTrigger</c> is absent (the host drops metadata keys ending in
/// "trigger"); strings and the URI are JSON-serialized twice (Json.NET cannot make a JObject of them, so the host
/// falls back to <c>SerializeObject</c>); <c>Properties</c> is Azure.Storage.Blobs' <c>BlobProperties</c> as Json.NET
/// writes it: PascalCase, enums as numbers, and <c>ETag</c> as <c>{}</c> because <c>Azure.ETag</c> has no public
/// members. A handler must therefore not take the ETag from the payload; OnImageUploaded reads it from storage.</para>
/// <para>The blob content is streamed into the body as base64 in segments, read at the listed ETag
/// (<c>If-Match</c>), so a large blob never sits in memory whole.</para>
/// </remarks>
public static class BlobTriggerPayload
{
    /// <summary>The host version the pump announces.</summary>
    public const string HostVersion = "4.0.0-local-event-pump";

    private static readonly JsonSerializerOptions s_jsonNetLike = new()
    {
        PropertyNamingPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        Converters = { new JsonNetETagConverter() },
    };

    /// <summary>Creates the invocation request for a blob, or null when the blob is gone or no longer has
    /// <paramref name="eTag"/> (its new version will be listed and delivered on its own).</summary>
    /// <param name="blob">The blob.</param>
    /// <param name="eTag">The ETag the event is about.</param>
    /// <param name="functionAppUrl">Base URL of the custom handler.</param>
    /// <param name="functionName">The function to invoke.</param>
    /// <param name="bindingName">The trigger's binding name.</param>
    /// <param name="cancellationToken">Cancels the property read.</param>
    public static async Task<HttpRequestMessage?> CreateRequestAsync(
        BlobClient blob,
        ETag eTag,
        Uri functionAppUrl,
        string functionName,
        string bindingName,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(functionAppUrl);
        BlobProperties properties;
        try
        {
            properties = await blob.GetPropertiesAsync(new BlobRequestConditions { IfMatch = eTag }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return null;
        }
        var invocationId = Guid.NewGuid();
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(functionAppUrl, functionName))
        {
            Content = new PayloadContent(blob, properties, eTag, functionName, bindingName),
        };
        request.Headers.Add("X-Azure-Functions-InvocationId", invocationId.ToString());
        request.Headers.Add("X-Azure-Functions-HostVersion", HostVersion);
        request.Headers.UserAgent.ParseAdd($"Azure-Functions-Host/{HostVersion.Split('-')[0]}");
        return request;
    }

    /// <summary>Writes the invocation JSON for <paramref name="blob"/> to <paramref name="output"/>.</summary>
    public static async Task WriteAsync(Stream output, BlobClient blob, BlobProperties properties, ETag eTag, string functionName, string bindingName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(properties);
        await using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteStartObject("Data");
        writer.WritePropertyName(bindingName);
        await WriteContentAsBase64Async(writer, blob, eTag, cancellationToken).ConfigureAwait(false);
        writer.WriteEndObject();

        writer.WriteStartObject("Metadata");
        writer.WriteString("Uri", JsonSerializer.Serialize(blob.Uri.ToString(), EventPumpJsonContext.Default.String));
        writer.WritePropertyName("Properties");
        JsonSerializer.Serialize(writer, properties, s_jsonNetLike);
        writer.WriteStartObject("Metadata");
        foreach (var pair in properties.Metadata)
        {
            writer.WriteString(pair.Key, pair.Value);
        }
        writer.WriteEndObject();
        writer.WriteString("name", JsonSerializer.Serialize(blob.Name, EventPumpJsonContext.Default.String));
        writer.WriteStartObject("sys");
        writer.WriteString("MethodName", functionName);
        writer.WriteString("UtcNow", DateTime.UtcNow);
        writer.WriteString("RandGuid", Guid.NewGuid());
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteContentAsBase64Async(Utf8JsonWriter writer, BlobClient blob, ETag eTag, CancellationToken cancellationToken)
    {
        BlobDownloadStreamingResult download = await blob.DownloadStreamingAsync(new BlobDownloadOptions
        {
            Conditions = new BlobRequestConditions { IfMatch = eTag },
        }, cancellationToken).ConfigureAwait(false);
        await using var content = download.Content;
        var buffer = new byte[48 * 1024];
        var carry = 0;
        while (true)
        {
            var read = await content.ReadAsync(buffer.AsMemory(carry), cancellationToken).ConfigureAwait(false);
            var available = carry + read;
            if (read == 0)
            {
                writer.WriteBase64StringSegment(buffer.AsSpan(0, available), isFinalSegment: true);
                return;
            }
            // Whole groups of three bytes encode without padding, so segments join into one valid string.
            var whole = available - available % 3;
            writer.WriteBase64StringSegment(buffer.AsSpan(0, whole), isFinalSegment: false);
            carry = available - whole;
            buffer.AsSpan(whole, carry).CopyTo(buffer);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes <see cref="ETag"/> as Json.NET does: <c>{}</c> (the struct has no public members; Azure.Core's
    /// own converter is for System.Text.Json only, which the host does not use).</summary>
    private sealed class JsonNetETagConverter : JsonConverter<ETag>
    {
        public override ETag Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("Only writing is needed.");

        public override void Write(Utf8JsonWriter writer, ETag value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
        }
    }

    private sealed class PayloadContent : HttpContent
    {
        private readonly BlobClient _blob;
        private readonly BlobProperties _properties;
        private readonly ETag _eTag;
        private readonly string _functionName;
        private readonly string _bindingName;

        public PayloadContent(BlobClient blob, BlobProperties properties, ETag eTag, string functionName, string bindingName)
        {
            _blob = blob;
            _properties = properties;
            _eTag = eTag;
            _functionName = functionName;
            _bindingName = bindingName;
            Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            WriteAsync(stream, _blob, _properties, _eTag, _functionName, _bindingName, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>Source-generated JSON for the pump's own types.</summary>
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(EventGridEnvelope))]
[JsonSerializable(typeof(DeliveryState))]
internal sealed partial class EventPumpJsonContext : JsonSerializerContext
{
}
