using AgingPipeline.Contracts;
using AgingPipeline.Storage;

namespace AgingPipeline.UnitTests.Storage;

public sealed class JobSerializationTests
{
    private static JobMessage Message(int version = JobMessage.CurrentSchemaVersion) =>
        new(version, "abc123", "uploads", "b/cat.png", "\"0x1\"", [20, 40], "character-ager", null, "b", null);

    [Fact]
    public void Messages_round_trip_as_camel_case_json()
    {
        var json = JobQueue.Serialize(Message());
        Assert.Contains("\"jobId\":\"abc123\"", json);
        Assert.Contains("\"targetAges\":[20,40]", json);
        var parsed = JobQueue.TryParse(json, out var problem);
        Assert.Null(problem);
        Assert.Equal("b/cat.png", parsed!.InputBlob);
        Assert.Equal([20, 40], parsed.TargetAges);
    }

    [Theory]
    [InlineData("not json", "not a valid job message")]
    [InlineData("null", "empty")]
    [InlineData("{\"schemaVersion\":2,\"jobId\":\"a\"}", "schema version 2")]
    [InlineData("{\"schemaVersion\":1,\"jobId\":\"A B\",\"inputContainer\":\"u\",\"inputBlob\":\"b\",\"targetAges\":[1],\"modelName\":\"m\"}", "well-formed job id")]
    [InlineData("{\"schemaVersion\":1,\"jobId\":\"a\",\"inputContainer\":\"u\",\"inputBlob\":\"b\",\"targetAges\":[],\"modelName\":\"m\"}", "target ages")]
    public void Unusable_messages_are_parsed_into_a_problem(string body, string problem)
    {
        Assert.Null(JobQueue.TryParse(body, out var reason));
        Assert.Contains(problem, reason);
    }

    [Fact]
    public void Writing_another_schema_version_or_an_oversize_message_is_refused()
    {
        Assert.Throws<ArgumentException>(() => JobQueue.Serialize(Message(version: 2)));
        var huge = Message() with { TraceParent = new string('x', JobQueue.MaxMessageBytes) };
        Assert.Throws<ArgumentException>(() => JobQueue.Serialize(huge));
    }

    [Fact]
    public void Records_round_trip_and_a_foreign_blob_is_refused()
    {
        var record = new JobRecord
        {
            JobId = "job1", State = JobState.Failed, InputContainer = "uploads", InputBlob = "a.png",
            ErrorCode = PipelineErrorCode.UnsupportedFormat, ErrorMessage = "GIF", Outputs = [new AgedOutput(40, "job1/a.age40.png")],
        };
        var data = JobStore.Serialize(record);
        Assert.Contains("\"state\":\"Failed\"", data.ToString());
        Assert.Contains("\"errorCode\":\"UnsupportedFormat\"", data.ToString());
        var back = JobStore.Deserialize("job1", data);
        Assert.Equal(record.Outputs, back.Outputs);
        Assert.Equal(record with { Outputs = back.Outputs, TargetAges = back.TargetAges }, back);
        Assert.Equal(PipelineErrorCode.Internal, Assert.Throws<PipelineException>(() => JobStore.Deserialize("job2", data)).Code);
        Assert.Equal(PipelineErrorCode.Internal, Assert.Throws<PipelineException>(() => JobStore.Deserialize("job1", BinaryData.FromString("{"))).Code);
    }

    [Fact]
    public void Create_only_conflicts_are_recognised()
    {
        Assert.True(JobStore.IsAlreadyExists(new Azure.RequestFailedException(409, "exists", "BlobAlreadyExists", null)));
        Assert.True(JobStore.IsAlreadyExists(new Azure.RequestFailedException(412, "condition", "ConditionNotMet", null)));
        Assert.False(JobStore.IsAlreadyExists(new Azure.RequestFailedException(409, "lease", "LeaseIdMissing", null)));
    }
}
