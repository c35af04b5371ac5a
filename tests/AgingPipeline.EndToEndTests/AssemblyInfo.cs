// Every test class drives whole process stacks on a 2-core machine: one stack at a time keeps timings meaningful.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
