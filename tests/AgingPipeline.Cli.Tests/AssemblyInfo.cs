// Two cores for everything: the offline tests keep both busy on their own, so classes run one after the other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
