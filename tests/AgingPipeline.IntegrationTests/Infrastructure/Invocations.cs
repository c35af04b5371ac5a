using System.Net.Http.Json;
using System.Text.Json;
using AgingPipeline.EventPump;
using Azure.Storage.Blobs;

namespace AgingPipeline.IntegrationTests.Infrastructure;

/// <summary>Sends the Functions host's invocation payloads to the function app under test.</summary>
public static class Invocations
{
    /// <summary>POSTs the eventGridTrigger invocation the host would send for <paramref name="blobName"/>'s BlobCreated event.</summary>
    public static async Task<HttpResponseMessage> OnImageUploadedAsync(HttpClient client, BlobContainerClient uploads, string blobName)
    {
        using var request = await HostInvocations.BlobCreatedRequestAsync(uploads.GetBlobClient(blobName), client.BaseAddress!);
        return await client.SendAsync(request);
    }

    /// <summary>POSTs an eventGridTrigger invocation carrying <paramref name="gridEvent"/> (an Event Grid schema event).</summary>
    public static async Task<HttpResponseMessage> OnImageUploadedAsync(HttpClient client, string gridEvent)
    {
        using var request = EventGridTriggerPayload.CreateRequest(BinaryData.FromString(gridEvent), client.BaseAddress!, "OnImageUploaded", "eventGridEvent", DateTimeOffset.UtcNow);
        return await client.SendAsync(request);
    }

    /// <summary>POSTs a queue-trigger invocation with <paramref name="data"/> as the message value.</summary>
    public static Task<HttpResponseMessage> OnPoisonJobAsync(HttpClient client, JsonElement data, int dequeueCount = 1)
    {
        var payload = new Dictionary<string, object>
        {
            ["Data"] = new Dictionary<string, object> { ["message"] = data },
            ["Metadata"] = new Dictionary<string, object>
            {
                ["DequeueCount"] = dequeueCount.ToString(),
                ["Id"] = JsonSerializer.Serialize(Guid.NewGuid().ToString()),
                ["sys"] = new Dictionary<string, object> { ["MethodName"] = "OnPoisonJob", ["UtcNow"] = DateTime.UtcNow },
            },
        };
        return client.PostAsJsonAsync("/OnPoisonJob", payload);
    }

    public static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public static JsonElement JsonString(string value) => JsonSerializer.SerializeToElement(value);
}
