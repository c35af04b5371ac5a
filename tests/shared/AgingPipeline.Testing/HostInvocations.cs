using System.Net;
using System.Net.Http.Headers;
using AgingPipeline.EventPump;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.Testing;

/// <summary>Invokes the function app's non-HTTP functions by hand, with the bytes the Functions host sends.</summary>
public static class HostInvocations
{
    /// <summary>The <c>Microsoft.Storage.BlobCreated</c> event of <paramref name="blob"/> as it is now, in the Event Grid
    /// schema, built by the event pump's <see cref="BlobCreatedEvents"/>.</summary>
    public static async Task<BinaryData> BlobCreatedEventAsync(BlobClient blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        BlobProperties properties = await blob.GetPropertiesAsync();
        var listed = BlobsModelFactory.BlobItemProperties(
            accessTierInferred: false,
            eTag: properties.ETag,
            contentLength: properties.ContentLength,
            contentType: properties.ContentType,
            lastModified: properties.LastModified,
            blobType: properties.BlobType);
        return BlobCreatedEvents.Create(blob.AccountName, blob.Uri, blob.Name, listed).Json;
    }

    /// <summary>The <c>eventGridTrigger</c> invocation body of <paramref name="blob"/>'s BlobCreated event, as the
    /// Functions host wraps it for OnImageUploaded.</summary>
    public static async Task<byte[]> BlobCreatedInvocationAsync(BlobClient blob) =>
        EventGridTriggerPayload.Serialize(await BlobCreatedEventAsync(blob), "OnImageUploaded", "eventGridEvent", DateTimeOffset.UtcNow);

    /// <summary>The invocation request the host would send for <paramref name="blob"/>'s BlobCreated event.</summary>
    public static async Task<HttpRequestMessage> BlobCreatedRequestAsync(BlobClient blob, Uri functionAppUrl) =>
        EventGridTriggerPayload.CreateRequest(await BlobCreatedEventAsync(blob), functionAppUrl, "OnImageUploaded", "eventGridEvent", DateTimeOffset.UtcNow);

    /// <summary>The eventGridTrigger invocation body of <paramref name="blobName"/>'s BlobCreated event: one event,
    /// captured once, so that it can be delivered again and again like a duplicated Event Grid event.</summary>
    public static Task<byte[]> CaptureBlobCreatedAsync(LocalStack stack, string blobName) =>
        BlobCreatedInvocationAsync(stack.Clients.Uploads.GetBlobClient(blobName));

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
            request.Headers.Add("X-Azure-Functions-HostVersion", HostInvocation.HostVersion);
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
