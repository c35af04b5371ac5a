using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.Functions.Http;
using AgingPipeline.IntegrationTests.Infrastructure;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.Http;

namespace AgingPipeline.IntegrationTests;

/// <summary>The region choice from the door to the job record and back out through the job API: the upload API's
/// <c>region</c> field, the <c>region</c> blob metadata read by OnImageUploaded, the job record and message, and
/// <c>GET /api/jobs/{id}</c> / <c>GET /api/batches/{id}</c>. Nothing here needs a face to be found: outcomes are
/// written into records directly.</summary>
public sealed class RegionTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private static MultipartFormDataContent Form(string? region, string fileName = "a.png")
    {
        var form = new MultipartFormDataContent { { new StringContent("40"), "ages" } };
        if (region is not null)
        {
            form.Add(new StringContent(region), "region");
        }
        var content = new ByteArrayContent(TestImages.Png(64, 48));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(content, "files", fileName);
        return form;
    }

    private static DetectedFace Face(float x, float score) => new(
        new FaceBox(x, 12, 30, 36), score,
        new Point2(x + 9, 24), new Point2(x + 21, 24), new Point2(x + 15, 31), new Point2(x + 15, 38),
        new Point2(x + 1, 27), new Point2(x + 29, 27), "face-detector/1:full-range");

    [Fact]
    public async Task The_region_form_field_reaches_the_blob_metadata_the_job_record_the_message_and_the_job_api()
    {
        var client = fixture.App.CreateClient();
        using var form = Form("faces");

        var response = await client.PostAsync("/api/uploads", form);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobs")[0];
        var blobName = job.GetProperty("blob").GetString()!;
        BlobProperties properties = await fixture.Clients.Uploads.GetBlobClient(blobName).GetPropertiesAsync();
        Assert.Equal("faces", properties.Metadata[UploadMetadata.Region]);

        var delivered = await Invocations.OnImageUploadedAsync(client, fixture.Clients.Uploads, blobName);
        Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
        var jobId = job.GetProperty("jobId").GetString()!;
        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Queued, record.State);
        Assert.Equal(AgingRegion.Faces, record.Region);
        Assert.Null(record.RegionOutcome);
        Assert.Equal(AgingRegion.Faces, Assert.Single(await fixture.MessagesForAsync(jobId)).Message!.Region);

        var status = await client.GetFromJsonAsync<JsonElement>($"/api/jobs/{jobId}");
        var region = status.GetProperty("region");
        Assert.Equal("faces", region.GetProperty("requested").GetString());
        Assert.False(region.TryGetProperty("applied", out _));
        Assert.Equal(0, region.GetProperty("faces").GetArrayLength());
    }

    [Fact]
    public async Task An_upload_without_a_region_field_is_stored_with_the_default_auto()
    {
        var client = fixture.App.CreateClient();
        using var form = Form(null);
        var response = await client.PostAsync("/api/uploads", form);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var batchId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("batchId").GetString();
        BlobProperties properties = await fixture.Clients.Uploads.GetBlobClient($"{batchId}/a.png").GetPropertiesAsync();
        Assert.Equal("auto", properties.Metadata[UploadMetadata.Region]);
    }

    [Theory]
    [InlineData("sideways")]
    [InlineData("heads")]
    public async Task An_unknown_region_field_is_400_InvalidRequest_naming_the_choices_and_nothing_is_committed(string value)
    {
        var client = fixture.App.CreateClient();
        var before = await fixture.ListAllUploadsAsync();
        using var form = Form(value);

        var response = await client.PostAsync("/api/uploads", form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("InvalidRequest", problem.GetProperty("code").GetString());
        Assert.Equal($"Unknown region '{value}': use one of auto, faces, whole.", problem.GetProperty("detail").GetString());
        Assert.Equal(before, await fixture.ListAllUploadsAsync());
    }

    [Fact]
    public async Task A_blob_with_an_unknown_region_in_its_metadata_becomes_a_failed_job_with_the_reason_and_no_message()
    {
        var blobName = $"{PipelineFixture.Unique("meta")}/a.png";
        var etag = await fixture.PutUploadAsync(blobName, TestImages.Png(), new Dictionary<string, string> { [UploadMetadata.Region] = "everything" });

        var delivered = await Invocations.OnImageUploadedAsync(fixture.App.CreateClient(), fixture.Clients.Uploads, blobName);

        Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
        var jobId = PipelineFixture.JobIdFor(blobName, etag);
        var record = (await fixture.Jobs.GetAsync(jobId))!.Record;
        Assert.Equal(JobState.Failed, record.State);
        Assert.Equal(PipelineErrorCode.InvalidRequest, record.ErrorCode);
        Assert.Equal("Unknown region 'everything': use one of auto, faces, whole.", record.ErrorMessage);
        Assert.Empty(await fixture.MessagesForAsync(jobId));
    }

    [Fact]
    public async Task A_blob_with_region_whole_in_its_metadata_is_queued_for_the_whole_picture()
    {
        var blobName = $"{PipelineFixture.Unique("whole")}/a.png";
        var etag = await fixture.PutUploadAsync(blobName, TestImages.Png(), new Dictionary<string, string> { [UploadMetadata.Region] = "whole" });

        await Invocations.OnImageUploadedAsync(fixture.App.CreateClient(), fixture.Clients.Uploads, blobName);

        var jobId = PipelineFixture.JobIdFor(blobName, etag);
        Assert.Equal(AgingRegion.Whole, (await fixture.Jobs.GetAsync(jobId))!.Record.Region);
        Assert.Equal(AgingRegion.Whole, Assert.Single(await fixture.MessagesForAsync(jobId)).Message!.Region);
    }

    [Fact]
    public async Task A_succeeded_job_reports_the_applied_region_faces_boxes_keypoints_and_scores_and_its_batch_lists_them()
    {
        var (batchId, _) = await fixture.CreateBatchRecordAsync();
        var now = DateTimeOffset.UtcNow;
        var withFaces = new JobRecord
        {
            JobId = PipelineFixture.Unique("jf"), State = JobState.Succeeded, InputContainer = "uploads", InputBlob = $"{batchId}/two.png",
            OriginalName = "two.png", BatchId = batchId, TargetAges = [40], Width = 200, Height = 100, Region = AgingRegion.Auto,
            RegionOutcome = RegionOutcome.OfFaces(AgingRegion.Auto, [Face(20, 0.91f), Face(120, 0.64f)]),
            CreatedAt = now, UpdatedAt = now, CompletedAt = now,
        };
        var wholeFrame = withFaces with
        {
            JobId = PipelineFixture.Unique("jw"), InputBlob = $"{batchId}/none.png", OriginalName = "none.png",
            RegionOutcome = RegionOutcome.WholeFrame(AgingRegion.Auto, "No face was found."),
        };
        foreach (var record in new[] { withFaces, wholeFrame })
        {
            Assert.NotNull(await fixture.Jobs.TryCreateAsync(record));
            await fixture.Jobs.AddToBatchAsync(batchId, record.JobId);
        }
        var client = fixture.App.CreateClient();

        var region = (await client.GetFromJsonAsync<JsonElement>($"/api/jobs/{withFaces.JobId}")).GetProperty("region");
        Assert.Equal("auto", region.GetProperty("requested").GetString());
        Assert.Equal("faces", region.GetProperty("applied").GetString());
        Assert.False(region.TryGetProperty("reason", out _));
        var faces = region.GetProperty("faces").EnumerateArray().ToArray();
        Assert.Equal(2, faces.Length);
        var box = faces[1].GetProperty("box");
        Assert.Equal((120f, 12f, 30f, 36f), (box.GetProperty("x").GetSingle(), box.GetProperty("y").GetSingle(), box.GetProperty("width").GetSingle(), box.GetProperty("height").GetSingle()));
        Assert.Equal(0.64f, faces[1].GetProperty("score").GetSingle());
        Assert.Equal(129f, faces[1].GetProperty("leftEye").GetProperty("x").GetSingle());
        Assert.Equal(38f, faces[1].GetProperty("mouth").GetProperty("y").GetSingle());

        var whole = (await client.GetFromJsonAsync<JsonElement>($"/api/jobs/{wholeFrame.JobId}")).GetProperty("region");
        Assert.Equal("whole-frame", whole.GetProperty("applied").GetString());
        Assert.Equal("No face was found.", whole.GetProperty("reason").GetString());
        Assert.Equal(0, whole.GetProperty("faces").GetArrayLength());

        var batch = await client.GetFromJsonAsync<JsonElement>($"/api/batches/{batchId}");
        var jobs = batch.GetProperty("jobs").EnumerateArray().ToDictionary(j => j.GetProperty("jobId").GetString()!);
        Assert.Equal("faces", jobs[withFaces.JobId].GetProperty("appliedRegion").GetString());
        Assert.Equal(2, jobs[withFaces.JobId].GetProperty("faceCount").GetInt32());
        Assert.Equal("whole-frame", jobs[wholeFrame.JobId].GetProperty("appliedRegion").GetString());
        Assert.Equal(0, jobs[wholeFrame.JobId].GetProperty("faceCount").GetInt32());
    }

    [Fact]
    public async Task A_job_failed_with_NoFaceFound_is_reported_with_that_code_and_its_message()
    {
        var now = DateTimeOffset.UtcNow;
        var record = new JobRecord
        {
            JobId = PipelineFixture.Unique("jn"), State = JobState.Failed, InputContainer = "uploads", InputBlob = "x/none.png",
            Region = AgingRegion.Faces, ErrorCode = PipelineErrorCode.NoFaceFound, ErrorMessage = "No face was found in the picture.",
            CreatedAt = now, UpdatedAt = now, CompletedAt = now,
        };
        Assert.NotNull(await fixture.Jobs.TryCreateAsync(record));

        var status = await fixture.App.CreateClient().GetFromJsonAsync<JsonElement>($"/api/jobs/{record.JobId}");

        Assert.Equal("failed", status.GetProperty("state").GetString());
        Assert.Equal("NoFaceFound", status.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("No face was found in the picture.", status.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("faces", status.GetProperty("region").GetProperty("requested").GetString());
    }

    [Fact]
    public void NoFaceFound_is_422_with_its_own_title_and_code()
    {
        Assert.Equal(StatusCodes.Status422UnprocessableEntity, Problems.StatusFor(PipelineErrorCode.NoFaceFound));
        var problem = Problems.Create(PipelineErrorCode.NoFaceFound, "No face was found.").ProblemDetails;
        Assert.Equal(422, problem.Status);
        Assert.Equal("No face found", problem.Title);
        Assert.Equal("NoFaceFound", problem.Extensions["code"]);
        Assert.Equal("urn:aging-pipeline:error:NoFaceFound", problem.Type);
    }

    [Fact]
    public async Task The_web_form_config_offers_the_regions_and_the_default()
    {
        var config = await fixture.App.CreateClient().GetFromJsonAsync<JsonElement>("/api/config");
        Assert.Equal("auto", config.GetProperty("defaultRegion").GetString());
        Assert.Equal(["auto", "faces", "whole"], config.GetProperty("regions").EnumerateArray().Select(r => r.GetString()));
    }
}
