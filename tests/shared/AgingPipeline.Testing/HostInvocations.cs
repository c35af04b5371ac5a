using System.Net;
using System.Net.Http.Headers;
using AgingPipeline.EventPump;

namespace AgingPipeline.Testing;

/// <summary>Invokes the function app's non-HTTP functions by hand, with the bytes the Functions host sends.</summary>
public static class HostInvocations
{
    /// <summary>The blob-trigger invocation body of <paramref name="blobName"/> as it is now (content, properties,
    /// metadata), built by the event pump's <see cref="BlobTriggerPayload"/>: one event, captured once, so that it can
    /// be delivered again and again like a duplicated Event Grid event.</summary>
    public static async Task<byte[]> CaptureBlobCreatedAsync(LocalStack stack, string blobName)
    {
        var blob = stack.Clients.Uploads.GetBlobClient(blobName);
        var properties = (await blob.GetPropertiesAsync()).Value;
        using var body = new MemoryStream();
        await BlobTriggerPayload.WriteAsync(body, blob, properties, properties.ETag, "OnImageUploaded", "upload");
        return body.ToArray();
    }

    /// <summary>POSTs <paramref name="payload"/> to <c>/{function}</c> as the host would (a new invocation id per
    /// delivery); a 503 ("busy, retry later") is retried after a second, as the host and Event Grid retry it.</summary>
    /// <returns>The final status and body.</returns>
    public static async Task<(HttpStatusCode Status, string Body)> DeliverAsync(LocalStack stack, string function, byte[] payload, int maxAttempts = 20)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, function) { Content = new ByteArrayContent(payload) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
            request.Headers.Add("X-Azure-Functions-HostVersion", BlobTriggerPayload.HostVersion);
            using var response = await stack.Http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt >= maxAttempts)
            {
                return (response.StatusCode, body);
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }
}
