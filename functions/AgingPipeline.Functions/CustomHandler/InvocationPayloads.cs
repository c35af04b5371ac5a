using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgingPipeline.Contracts;

namespace AgingPipeline.Functions.CustomHandler;

/// <summary>The body the Functions host POSTs to <c>/{FunctionName}</c> for a non-HTTP trigger:
/// <c>{"Data": {binding: value}, "Metadata": {name: value, "sys": {…}}}</c>.</summary>
/// <remarks>
/// <para>How the host fills it (azure-functions-host, <c>ScriptInvocationContextExtensions.ToHttpScriptInvocationContext</c>):
/// every input binding value goes into <c>Data</c> under its binding name (byte arrays as base64 strings); every
/// trigger metadata entry goes into <c>Metadata</c> except keys ending in "trigger" (so <c>QueueTrigger</c> is not
/// there). A metadata value that Json.NET can turn into an object (dictionaries, SDK
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
[JsonSerializable(typeof(InvocationResult))]
[JsonSerializable(typeof(Dictionary<string, object?>))]
public sealed partial class HostValuesJsonContext : JsonSerializerContext
{
}
