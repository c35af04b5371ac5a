using AgingPipeline.Contracts;

namespace AgingPipeline.UnitTests.Contracts;

public sealed class JobStateMachineTests
{
    [Theory]
    [InlineData(JobState.Queued, JobState.Processing, true)]
    [InlineData(JobState.Queued, JobState.Failed, true)]
    [InlineData(JobState.Processing, JobState.Processing, true)]
    [InlineData(JobState.Processing, JobState.Succeeded, true)]
    [InlineData(JobState.Processing, JobState.Failed, true)]
    [InlineData(JobState.Queued, JobState.Succeeded, false)]
    [InlineData(JobState.Succeeded, JobState.Failed, false)]
    [InlineData(JobState.Failed, JobState.Processing, false)]
    [InlineData(JobState.Succeeded, JobState.Processing, false)]
    [InlineData(JobState.Processing, JobState.Queued, false)]
    public void Moves(JobState from, JobState to, bool allowed) => Assert.Equal(allowed, JobStateMachine.CanMove(from, to));

    [Fact]
    public void Failing_sets_code_message_and_completion_and_terminal_records_cannot_move()
    {
        var created = DateTimeOffset.UnixEpoch;
        var record = new JobRecord { JobId = "j", State = JobState.Queued, InputContainer = "uploads", InputBlob = "a.png", CreatedAt = created, UpdatedAt = created };
        var processing = record.MoveTo(JobState.Processing, created.AddMinutes(1));
        Assert.Equal(created.AddMinutes(1), processing.StartedAt);
        var again = processing.MoveTo(JobState.Processing, created.AddMinutes(2));
        Assert.Equal(created.AddMinutes(1), again.StartedAt);
        var failed = again.Fail(PipelineErrorCode.ModelFailed, "boom", created.AddMinutes(3));
        Assert.Equal((JobState.Failed, PipelineErrorCode.ModelFailed, "boom"), (failed.State, failed.ErrorCode, failed.ErrorMessage));
        Assert.Equal(created.AddMinutes(3), failed.CompletedAt);
        Assert.True(JobStateMachine.IsTerminal(failed.State));
        Assert.Throws<InvalidOperationException>(() => failed.MoveTo(JobState.Processing, created.AddMinutes(4)));
    }
}
