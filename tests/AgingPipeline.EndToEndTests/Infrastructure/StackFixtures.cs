namespace AgingPipeline.EndToEndTests.Infrastructure;

/// <summary>A stack kept for the tests of a collection or class, started once and stopped at the end.</summary>
public abstract class StackFixture(LocalStackOptions options) : IAsyncLifetime
{
    private LocalStack? _stack;

    public LocalStack Stack => _stack ?? throw new InvalidOperationException("The stack did not start.");

    public async Task InitializeAsync() => _stack = await LocalStack.StartAsync(options);

    public async Task DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }
}

/// <summary>The stack of the pipeline tests: in-memory Azurite, a 3 s visibility timeout (so that a job that keeps
/// failing reaches the poison queue in seconds).</summary>
public sealed class PipelineStackFixture() : StackFixture(new LocalStackOptions("pipeline"));

/// <summary>The collection of the pipeline tests (one stack for all of them).</summary>
[CollectionDefinition(Name)]
public sealed class PipelineStackCollection : ICollectionFixture<PipelineStackFixture>
{
    public const string Name = "pipeline stack";
}

/// <summary>The stack of the fault tests: Azurite persisted in a folder (it is stopped and started again), a 5 s
/// visibility timeout (a killed runner's job reappears in seconds), a 10 s enqueue recovery (a job whose message
/// could not be sent while storage was down is completed by a repeated event within the pump's retries).</summary>
public sealed class FaultStackFixture() : StackFixture(new LocalStackOptions("faults")
{
    PersistentStorage = true,
    VisibilityTimeout = TimeSpan.FromSeconds(5),
    EnqueueRecoveryAfter = TimeSpan.FromSeconds(10),
});

/// <summary>The stack of the corpus run: in-memory Azurite, a runner of its own (its peak memory is measured).</summary>
public sealed class CorpusStackFixture() : StackFixture(new LocalStackOptions("corpus")
{
    VisibilityTimeout = TimeSpan.FromSeconds(10),
});
