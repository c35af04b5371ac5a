using AgingPipeline.Contracts;
using AgingPipeline.Storage;

namespace AgingPipeline.UnitTests.Contracts;

/// <summary>The requested region on its way in (blob metadata, the queue message) and the outcome on its way out (the
/// job record), including messages and records written before regions existed.</summary>
public sealed class RegionContractTests
{
    private static readonly UploadRules Rules = new();

    private static DetectedFace Face(float x, float score) => new(
        new FaceBox(x, 20.5f, 100, 120), score,
        new Point2(x + 30, 60), new Point2(x + 70, 61), new Point2(x + 50, 80), new Point2(x + 50, 100),
        new Point2(x + 5, 70), new Point2(x + 95, 70), "face-detector/1:full-range");

    [Theory]
    [InlineData("faces", AgingRegion.Faces)]
    [InlineData(" WHOLE ", AgingRegion.Whole)]
    [InlineData("auto", AgingRegion.Auto)]
    [InlineData("face", AgingRegion.Faces)]
    public void Region_metadata_is_read_in_any_case_and_with_its_aliases(string value, AgingRegion expected)
    {
        Assert.True(UploadOptions.TryRead(new Dictionary<string, string> { ["Region"] = value }, Rules, out var options, out var error));
        Assert.Null(error);
        Assert.Equal(expected, options.Region);
    }

    [Fact]
    public void Region_round_trips_through_metadata_by_its_wire_name()
    {
        var original = new UploadOptions([30], "character-ager", null, "b-1", "a.png", AgingRegion.Whole);
        var metadata = original.ToMetadata();
        Assert.Equal("whole", metadata[UploadMetadata.Region]);
        Assert.True(UploadOptions.TryRead(metadata, Rules, out var read, out _));
        Assert.Equal(AgingRegion.Whole, read.Region);
    }

    [Fact]
    public void A_blob_without_region_metadata_gets_the_configured_default()
    {
        Assert.True(UploadOptions.TryRead(null, Rules, out var byDefault, out _));
        Assert.Equal(AgingRegion.Auto, byDefault.Region);
        var facesFirst = new UploadRules { DefaultRegion = AgingRegion.Faces };
        Assert.True(UploadOptions.TryRead(new Dictionary<string, string> { [UploadMetadata.Ages] = "40" }, facesFirst, out var read, out _));
        Assert.Equal(AgingRegion.Faces, read.Region);
    }

    [Fact]
    public void An_unknown_region_is_refused_with_InvalidRequest_naming_the_accepted_values()
    {
        Assert.False(UploadOptions.TryRead(new Dictionary<string, string> { [UploadMetadata.Region] = "sideways" }, Rules, out _, out var error));
        Assert.Equal(PipelineErrorCode.InvalidRequest, error!.Code);
        Assert.Equal("Unknown region 'sideways': use one of auto, faces, whole.", error.Message);
    }

    [Fact]
    public void A_very_long_unknown_region_is_shortened_in_the_refusal()
    {
        var message = AgingRegions.UnknownMessage(new string('x', 500));
        Assert.True(message.Length < 100, message);
        Assert.EndsWith("use one of auto, faces, whole.", message);
    }

    [Fact]
    public void An_undefined_default_region_is_a_configuration_problem()
    {
        Assert.Contains(new UploadRules { DefaultRegion = (AgingRegion)7 }.Validate(), p => p.Contains("DefaultRegion"));
        Assert.Empty(new UploadRules { DefaultRegion = AgingRegion.Whole }.Validate());
    }

    [Fact]
    public void NoFaceFound_is_permanent_so_a_job_that_hits_it_is_never_retried()
    {
        Assert.False(new PipelineException(PipelineErrorCode.NoFaceFound, "none").IsTransient);
    }

    [Fact]
    public void A_message_carries_the_region_by_its_wire_name()
    {
        var message = new JobMessage(JobMessage.CurrentSchemaVersion, "abc123", "uploads", "b/cat.png", "\"0x1\"", [20], "character-ager", null, null, null, AgingRegion.Faces);
        var json = JobQueue.Serialize(message);
        Assert.Contains("\"region\":\"faces\"", json);
        Assert.Equal(AgingRegion.Faces, JobQueue.TryParse(json, out var problem)!.Region);
        Assert.Null(problem);
    }

    [Fact]
    public void A_message_written_before_regions_existed_still_reads_and_means_auto()
    {
        const string Old = "{\"schemaVersion\":1,\"jobId\":\"abc123\",\"inputContainer\":\"uploads\",\"inputBlob\":\"b/cat.png\","
            + "\"inputETag\":\"\\\"0x1\\\"\",\"targetAges\":[20,40],\"modelName\":\"character-ager\",\"modelVersion\":null,\"batchId\":null,\"traceParent\":null}";
        var parsed = JobQueue.TryParse(Old, out var problem);
        Assert.Null(problem);
        Assert.Equal(AgingRegion.Auto, parsed!.Region);
        Assert.Equal([20, 40], parsed.TargetAges);
    }

    [Fact]
    public void A_record_keeps_the_requested_region_and_the_faces_with_boxes_keypoints_and_scores()
    {
        var record = new JobRecord
        {
            JobId = "job1", State = JobState.Succeeded, InputContainer = "uploads", InputBlob = "a.png", Width = 640, Height = 480,
            Region = AgingRegion.Faces,
            RegionOutcome = RegionOutcome.OfFaces(AgingRegion.Faces, [Face(10, 0.93f), Face(300, 0.71f)]),
        };
        var json = JobStore.Serialize(record).ToString();
        Assert.Contains("\"region\":\"faces\"", json);
        Assert.Contains("\"regionOutcome\":{\"requested\":\"faces\",\"applied\":\"faces\",\"faces\":[{\"box\":{\"x\":10,\"y\":20.5,\"width\":100,\"height\":120},\"score\":0.93", json);
        Assert.Contains("\"leftEye\":{\"x\":40,\"y\":60}", json);

        var back = JobStore.Deserialize("job1", JobStore.Serialize(record));
        Assert.Equal(AgingRegion.Faces, back.Region);
        var outcome = back.RegionOutcome!;
        Assert.Equal(RegionOutcome.FacesApplied, outcome.Applied);
        Assert.Null(outcome.Reason);
        Assert.Equal(record.RegionOutcome!.Faces, outcome.Faces);
    }

    [Fact]
    public void A_whole_frame_outcome_keeps_its_reason()
    {
        var record = new JobRecord
        {
            JobId = "job2", State = JobState.Succeeded, InputContainer = "uploads", InputBlob = "a.png",
            RegionOutcome = RegionOutcome.WholeFrame(AgingRegion.Auto, "No face was found."),
        };
        var back = JobStore.Deserialize("job2", JobStore.Serialize(record));
        Assert.Equal((AgingRegion.Auto, RegionOutcome.WholeFrameApplied, "No face was found."), (back.RegionOutcome!.Requested, back.RegionOutcome.Applied, back.RegionOutcome.Reason));
        Assert.Empty(back.RegionOutcome.Faces);
    }

    [Fact]
    public void A_record_written_before_regions_existed_still_reads_as_auto_without_an_outcome()
    {
        const string Old = "{\"schemaVersion\":1,\"jobId\":\"job3\",\"state\":\"Succeeded\",\"inputContainer\":\"uploads\",\"inputBlob\":\"a.png\","
            + "\"targetAges\":[40],\"outputs\":[{\"age\":40,\"blob\":\"job3/a.age40.png\"}],\"errorCode\":\"None\",\"attempts\":1}";
        var record = JobStore.Deserialize("job3", BinaryData.FromString(Old));
        Assert.Equal(AgingRegion.Auto, record.Region);
        Assert.Null(record.RegionOutcome);
        Assert.Equal(JobState.Succeeded, record.State);
    }
}
