// Each test class starts its own Azurite; on a 2-core machine two at a time is plenty.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
