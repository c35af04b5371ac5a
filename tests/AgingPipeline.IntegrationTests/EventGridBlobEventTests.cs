using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.EventPump;
using AgingPipeline.Functions.CustomHandler;
using Azure;
using Azure.Storage.Blobs.Models;

namespace AgingPipeline.IntegrationTests;

/// <summary>Reading the Event Grid event out of an eventGridTrigger invocation (pure: no storage, no app).</summary>
public sealed class EventGridBlobEventTests
{
    private static InvocationRequest Request(string json) =>
        JsonSerializer.Deserialize(json, HostValuesJsonContext.Default.InvocationRequest)!;

    [Fact]
    public void The_pumps_invocation_reads_back_as_the_event_it_was_built_from()
    {
        var uri = new Uri("http://127.0.0.1:10000/devstoreaccount1/uploads/b/a%20cat.png");
        var properties = BlobsModelFactory.BlobItemProperties(accessTierInferred: false, eTag: new ETag("\"0x8DD1234\""),
            contentLength: 4321, contentType: "image/png", lastModified: DateTimeOffset.UtcNow);
        var (json, built) = BlobCreatedEvents.Create("devstoreaccount1", uri, "b/a cat.png", properties);
        var body = EventGridTriggerPayload.Serialize(json, "OnImageUploaded", "eventGridEvent", DateTimeOffset.UtcNow);

        var gridEvent = EventGridBlobEvent.From(JsonSerializer.Deserialize(body, HostValuesJsonContext.Default.InvocationRequest)!, "eventGridEvent");

        Assert.True(gridEvent.IsBlobCreated);
        Assert.Equal(built.Id, gridEvent.Id);
        Assert.Equal(BlobNames.UploadsContainer, gridEvent.Container);
        Assert.Equal("b/a cat.png", gridEvent.BlobName);
        Assert.Equal(uri, gridEvent.Url);
        Assert.Equal("0x8DD1234", gridEvent.ETag);
        Assert.Equal(4321, gridEvent.ContentLength);
        Assert.Equal("image/png", gridEvent.ContentType);
    }

    [Fact]
    public void The_same_blob_version_gives_the_same_event_id_and_a_new_version_a_new_one()
    {
        var uri = new Uri("http://127.0.0.1:10000/devstoreaccount1/uploads/x.png");
        BlobItemProperties Version(string etag) => BlobsModelFactory.BlobItemProperties(accessTierInferred: false, eTag: new ETag(etag), contentLength: 1);
        var first = BlobCreatedEvents.Create("devstoreaccount1", uri, "x.png", Version("\"0x1\"")).Event.Id;
        Assert.Equal(first, BlobCreatedEvents.Create("devstoreaccount1", uri, "x.png", Version("0x1")).Event.Id);
        Assert.NotEqual(first, BlobCreatedEvents.Create("devstoreaccount1", uri, "x.png", Version("\"0x2\"")).Event.Id);
    }

    [Theory]
    [InlineData("object")]
    [InlineData("string")]
    [InlineData("doubly encoded string")]
    public void The_event_is_read_whether_the_host_sends_it_as_an_object_or_as_encoded_text(string form)
    {
        const string gridEvent = """{"id":"e1","topic":"/t","subject":"/blobServices/default/containers/uploads/blobs/dir/img.png","eventType":"Microsoft.Storage.BlobCreated","eventTime":"2026-12-05T12:00:00Z","data":{"api":"PutBlockList","eTag":"0x8DD","contentLength":"17","url":"https://acct.blob.core.windows.net/uploads/dir/img.png"},"dataVersion":"","metadataVersion":"1"}""";
        var value = form switch
        {
            "object" => gridEvent,
            "string" => JsonSerializer.Serialize(gridEvent),
            _ => JsonSerializer.Serialize(JsonSerializer.Serialize(gridEvent)),
        };

        var parsed = EventGridBlobEvent.From(Request("""{"Data":{"eventGridEvent":""" + value + """},"Metadata":{}}"""), "eventGridEvent");

        Assert.Equal(("e1", "uploads", "dir/img.png", "0x8DD", 17L), (parsed.Id, parsed.Container, parsed.BlobName, parsed.ETag, parsed.ContentLength));
    }

    [Theory]
    [InlineData("/blobServices/default/containers/uploads/blobs/a/b/c.png", "uploads", "a/b/c.png")]
    [InlineData("/blobServices/default/containers/uploads/blobs/with space and /blobs/ inside.png", "uploads", "with space and /blobs/ inside.png")]
    [InlineData("/blobServices/default/containers/aged", "aged", null)]
    [InlineData("/blobServices/default/containers/uploads/blobs/", "uploads", null)]
    [InlineData("/something/else", null, null)]
    [InlineData(null, null, null)]
    public void The_subject_names_container_and_blob(string? subject, string? container, string? blob)
    {
        Assert.Equal((container, blob), EventGridBlobEvent.ParseSubject(subject));
    }

    [Fact]
    public void Without_a_blob_subject_the_url_names_the_blob()
    {
        var parsed = EventGridBlobEvent.Parse(JsonDocument.Parse(
            """{"eventType":"Microsoft.Storage.BlobCreated","subject":"","data":{"url":"https://acct.blob.core.windows.net/uploads/d/a%20b.png"}}""").RootElement);
        Assert.Equal(("uploads", "d/a b.png"), (parsed.Container, parsed.BlobName));
        Assert.Null(parsed.ETag);
    }

    [Theory]
    [InlineData("""{"Data":{},"Metadata":{}}""", "carries no event")]
    [InlineData("""{"Data":{"eventGridEvent":42},"Metadata":{}}""", "is not an event")]
    [InlineData("""{"Data":{"eventGridEvent":"not json"},"Metadata":{}}""", "not valid JSON")]
    [InlineData("""{"Data":{"eventGridEvent":{"id":"1"}},"Metadata":{}}""", "no eventType")]
    [InlineData("""{"Data":{"eventGridEvent":[{"eventType":"Microsoft.Storage.BlobCreated"}]},"Metadata":{}}""", "not a JSON object")]
    public void A_body_without_one_event_is_an_invalid_request(string body, string message)
    {
        var ex = Assert.Throws<PipelineException>(() => EventGridBlobEvent.From(Request(body), "eventGridEvent"));
        Assert.Equal(PipelineErrorCode.InvalidRequest, ex.Code);
        Assert.Contains(message, ex.Message);
    }
}
