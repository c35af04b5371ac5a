using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgingPipeline.Contracts;
using Azure.Storage.Blobs;

namespace AgingPipeline.Functions.CustomHandler;

/// <summary>The body the Functions host POSTs to <c>/{FunctionName}</c> for a non-HTTP trigger:
/// <c>{"Data": {binding: value}, "Metadata": {name: value, "sys": {…}}}</c>.</summary>
/// <remarks>
/// <para>How the host fills it (azure-functions-host, <c>ScriptInvocationContextExtensions.ToHttpScriptInvocationContext</c>):
/// every input binding value goes into <c>Data</c> under its binding name (byte arrays as base64 strings); every
/// trigger metadata entry goes into <c>Metadata</c> except keys ending in "trigger" (so <c>BlobTrigger</c> and
/// <c>QueueTrigger</c> are not there). A metadata value that Json.NET can turn into an object (dictionaries, SDK
/// models) arrives as a JSON object; anything else — strings, numbers, URIs — arrives as a string holding its
/// JSON serialization, i.e. doubly encoded: <c>"name": "\"batch/cat.png\""</c>, <c>"DequeueCount": "5"</c>.
/// The readers below accept both the doubly encoded and the plain form.</para>
/// </remarks>
public sealed class InvocationRequest
{
    /// <summary>Input binding values by binding name.</summary>
    [JsonPropertyName("Data")]
    public Dictionary<string, JsonElement>? Data { get; set; }

    /// <summary>Trigger metadata by name.</summary>
    [JsonPropertyName("Metadata")]
    public Dictionary<string, JsonElement>? Metadata { get; set; }
}

/// <summary>The invocation body of a blob trigger, read without keeping the blob content.</summary>
/// <remarks>The host puts the whole blob into <c>Data</c> (base64); OnImageUploaded reads the blob's first bytes
/// itself, from storage, at the ETag it sees, so <c>Data</c> is skipped while parsing rather than decoded.</remarks>
public sealed class BlobTriggerRequest
{
    /// <summary>Skipped: the blob content as bound by the host.</summary>
    [JsonPropertyName("Data")]
    [JsonConverter(typeof(SkippedValueConverter))]
    public SkippedValue? Data { get; set; }

    /// <summary>Trigger metadata: <c>Uri</c>, <c>Properties</c>, <c>Metadata</c>, the path parameters (<c>name</c>) and <c>sys</c>.</summary>
    [JsonPropertyName("Metadata")]
    public Dictionary<string, JsonElement>? Metadata { get; set; }
}

/// <summary>Marks a JSON value that was present and deliberately not read.</summary>
public sealed class SkippedValue
{
    /// <summary>The single instance.</summary>
    public static SkippedValue Instance { get; } = new();

    private SkippedValue()
    {
    }
}

/// <summary>Skips a JSON value of any shape.</summary>
public sealed class SkippedValueConverter : JsonConverter<SkippedValue>
{
    /// <inheritdoc />
    /// <remarks><c>TrySkip</c>, not <c>Skip</c>: <c>Skip</c> throws whenever the reader's buffer is not the final block
    /// of the input, which is what a converter sees when the request body is read from a stream and does not fit the
    /// deserializer's buffer (an invocation whose <c>Data</c> ends shortly before 16 KiB, 32 KiB, … was refused with
    /// 400 on every delivery). The serializer reads a custom converter's whole value ahead, so <c>TrySkip</c>
    /// completes; false would mean a truncated body.</remarks>
    public override SkippedValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (!reader.TrySkip())
        {
            throw new JsonException("The value ends before it is complete.");
        }
        return SkippedValue.Instance;
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, SkippedValue value, JsonSerializerOptions options) =>
        throw new NotSupportedException("A skipped value has nothing to write.");
}

/// <summary>The reply to a non-HTTP invocation: <c>{"Outputs": {}, "Logs": [], "ReturnValue": null}</c>.</summary>
/// <param name="Outputs">Output binding values by name (none here: outputs are written with the SDK).</param>
/// <param name="Logs">Lines the host writes to the invocation's log.</param>
/// <param name="ReturnValue">The <c>$return</c> value; null.</param>
public sealed record InvocationResult(
    [property: JsonPropertyName("Outputs")] IReadOnlyDictionary<string, object?> Outputs,
    [property: JsonPropertyName("Logs")] IReadOnlyList<string> Logs,
    [property: JsonPropertyName("ReturnValue")] object? ReturnValue)
{
    /// <summary>A reply with log lines and nothing else.</summary>
    public static InvocationResult WithLogs(params string[] logs) => new(new Dictionary<string, object?>(), logs, null);
}

/// <summary>What OnImageUploaded needs from a blob-trigger invocation.</summary>
/// <param name="Container">The container, from the blob URI (or the binding path when the URI is missing).</param>
/// <param name="BlobName">The blob name, unescaped.</param>
/// <param name="BlobUri">The blob URI when the host sent it.</param>
/// <param name="ContentLength">The content length the host saw, when sent.</param>
public sealed record BlobTriggerInvocation(string Container, string BlobName, Uri? BlobUri, long? ContentLength)
{
    /// <summary>Extracts the blob from the invocation metadata.</summary>
    /// <param name="request">The parsed body.</param>
    /// <param name="bindingContainer">The container of the trigger's path (<c>uploads/{name}</c>).</param>
    /// <exception cref="PipelineException">InvalidRequest when the body names no blob.</exception>
    public static BlobTriggerInvocation From(BlobTriggerRequest request, string bindingContainer)
    {
        ArgumentNullException.ThrowIfNull(request);
        var metadata = request.Metadata ?? new Dictionary<string, JsonElement>();
        Uri? uri = null;
        string? container = null;
        string? uriBlobName = null;
        if (Uri.TryCreate(HostValues.GetString(metadata, "Uri"), UriKind.Absolute, out var parsed))
        {
            uri = parsed;
            var parts = new BlobUriBuilder(parsed);
            container = string.IsNullOrEmpty(parts.BlobContainerName) ? null : parts.BlobContainerName;
            uriBlobName = string.IsNullOrEmpty(parts.BlobName) ? null : parts.BlobName;
        }
        var name = HostValues.GetString(metadata, "name") ?? uriBlobName;
        if (name is null && HostValues.GetString(metadata, "BlobTrigger") is { } path && path.IndexOf('/') is var slash and > 0)
        {
            container ??= path[..slash];
            name = path[(slash + 1)..];
        }
        if (string.IsNullOrEmpty(name))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, "The invocation names no blob (no 'name', 'Uri' or 'BlobTrigger' metadata).");
        }
        long? length = null;
        if (HostValues.Get(metadata, "Properties") is { ValueKind: JsonValueKind.Object } properties)
        {
            length = HostValues.GetInt64(properties, "ContentLength");
        }
        return new BlobTriggerInvocation(container ?? bindingContainer, name, uri, length);
    }
}

/// <summary>What OnPoisonJob needs from a queue-trigger invocation.</summary>
/// <param name="Body">The message text.</param>
/// <param name="MessageId">Queue message id, when sent.</param>
/// <param name="DequeueCount">Deliveries from the poison queue, when sent.</param>
public sealed record QueueTriggerInvocation(string Body, string? MessageId, long? DequeueCount)
{
    /// <summary>Extracts the message from the invocation.</summary>
    /// <param name="request">The parsed body.</param>
    /// <param name="bindingName">The queue trigger's binding name in <c>function.json</c>.</param>
    /// <exception cref="PipelineException">InvalidRequest when there is no message.</exception>
    /// <remarks>The message may arrive as a JSON object (already parsed), as a string of JSON, as a doubly encoded
    /// string, or as base64 (binary data type, or a producer that encoded twice); each layer is peeled in turn.</remarks>
    public static QueueTriggerInvocation From(InvocationRequest request, string bindingName)
    {
        ArgumentNullException.ThrowIfNull(request);
        JsonElement value;
        if (request.Data is null || request.Data.Count == 0)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, "The invocation carries no queue message.");
        }
        if (!request.Data.TryGetValue(bindingName, out value))
        {
            value = request.Data.Count == 1 ? request.Data.Values.First() : default;
        }
        var body = HostValues.MessageText(value)
            ?? throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The invocation carries no queue message under '{bindingName}'.");
        var metadata = request.Metadata ?? new Dictionary<string, JsonElement>();
        return new QueueTriggerInvocation(body, HostValues.GetString(metadata, "Id"), HostValues.GetInt64(metadata, "DequeueCount"));
    }
}

/// <summary>Reads values the way the Functions host writes them (see <see cref="InvocationRequest"/>).</summary>
public static class HostValues
{
    /// <summary>The entry <paramref name="key"/> (case-insensitive), or null.</summary>
    public static JsonElement? Get(IReadOnlyDictionary<string, JsonElement> values, string key)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.TryGetValue(key, out var exact))
        {
            return exact;
        }
        foreach (var pair in values)
        {
            if (string.Equals(pair.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return pair.Value;
            }
        }
        return null;
    }

    /// <summary>The string value of an entry, undoing the host's double encoding.</summary>
    public static string? GetString(IReadOnlyDictionary<string, JsonElement> values, string key) =>
        Get(values, key) is { } element ? AsString(element) : null;

    /// <summary>A whole number from an entry that may be a JSON number or a string holding one.</summary>
    public static long? GetInt64(IReadOnlyDictionary<string, JsonElement> values, string key) =>
        Get(values, key) is { } element ? AsInt64(element) : null;

    /// <summary>A whole number from a property of a JSON object (number or string holding one).</summary>
    public static long? GetInt64(JsonElement obj, string property)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (string.Equals(p.Name, property, StringComparison.OrdinalIgnoreCase))
            {
                return AsInt64(p.Value);
            }
        }
        return null;
    }

    /// <summary>The string a value stands for: a plain string, a doubly encoded one, or a number's text.</summary>
    public static string? AsString(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                var text = element.GetString();
                if (text is { Length: >= 2 } && text[0] == '"' && text[^1] == '"')
                {
                    try
                    {
                        return JsonSerializer.Deserialize(text, HostValuesJsonContext.Default.String);
                    }
                    catch (JsonException)
                    {
                        return text;
                    }
                }
                return text;
            case JsonValueKind.Number:
            case JsonValueKind.True:
            case JsonValueKind.False:
                return element.GetRawText();
            default:
                return null;
        }
    }

    /// <summary>A whole number from a JSON number or a string that holds one.</summary>
    public static long? AsInt64(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Number when element.TryGetInt64(out var number) => number,
        JsonValueKind.String when long.TryParse(AsString(element), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => null,
    };

    /// <summary>The text of a queue message however it was wrapped (object, JSON string, doubly encoded, base64).</summary>
    public static string? MessageText(JsonElement element)
    {
        if (element.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
        {
            return element.GetRawText();
        }
        if (element.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        var text = element.GetString();
        for (var layer = 0; layer < 4 && text is not null; layer++)
        {
            var trimmed = text.Trim();
            if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
            {
                return trimmed;
            }
            if (trimmed.Length >= 2 && trimmed[0] == '"' && trimmed[^1] == '"')
            {
                try
                {
                    text = JsonSerializer.Deserialize(trimmed, HostValuesJsonContext.Default.String);
                    continue;
                }
                catch (JsonException)
                {
                    return trimmed;
                }
            }
            if (TryDecodeBase64Utf8(trimmed, out var decoded))
            {
                text = decoded;
                continue;
            }
            return trimmed;
        }
        return text;
    }

    private static bool TryDecodeBase64Utf8(string text, out string decoded)
    {
        decoded = string.Empty;
        if (text.Length == 0 || text.Length % 4 != 0)
        {
            return false;
        }
        var buffer = new byte[text.Length / 4 * 3];
        if (!Convert.TryFromBase64String(text, buffer, out var written))
        {
            return false;
        }
        try
        {
            decoded = new UTF8Encoding(false, true).GetString(buffer, 0, written);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}

/// <summary>Source-generated JSON for the custom-handler payloads.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(InvocationRequest))]
[JsonSerializable(typeof(BlobTriggerRequest))]
[JsonSerializable(typeof(InvocationResult))]
[JsonSerializable(typeof(Dictionary<string, object?>))]
public sealed partial class HostValuesJsonContext : JsonSerializerContext
{
}
