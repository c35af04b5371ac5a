using AgingPipeline.Contracts;
using AgingPipeline.Storage;

namespace AgingPipeline.UnitTests.Storage;

public sealed class StorageOptionsTests
{
    [Fact]
    public void Defaults_use_development_storage_and_are_valid()
    {
        var options = new StorageOptions();
        Assert.Equal("UseDevelopmentStorage=true", options.ConnectionString);
        Assert.False(options.UsesCredential);
        Assert.Equal(5, options.MaxDequeueCount);
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Uris_must_come_in_pairs_and_select_credentials()
    {
        var half = new StorageOptions { BlobServiceUri = new Uri("https://a.blob.core.windows.net") };
        Assert.Contains(half.Validate(), p => p.Contains("QueueServiceUri"));
        var both = new StorageOptions { BlobServiceUri = new Uri("https://a.blob.core.windows.net"), QueueServiceUri = new Uri("https://a.queue.core.windows.net") };
        Assert.Empty(both.Validate());
        Assert.True(both.UsesCredential);
    }

    [Fact]
    public void Out_of_range_values_are_reported()
    {
        var options = new StorageOptions { ConnectionString = " ", MaxDequeueCount = 0, RetryBaseDelay = TimeSpan.FromSeconds(5), RetryMaxDelay = TimeSpan.FromSeconds(1), ReadLinkLifetime = TimeSpan.FromDays(3) };
        var problems = options.Validate();
        Assert.Equal(4, problems.Count);
        Assert.Throws<ArgumentException>(() => new StorageClients(options));
    }

    [Fact]
    public void The_default_visibility_timeout_brings_a_killed_runners_jobs_back_within_a_minute()
    {
        var options = new StorageOptions();
        Assert.InRange(options.VisibilityTimeout, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));
        // The runner's shipped settings say the same (a value there would win over the default).
        using var settings = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AgingPipeline.Testing.RepoPaths.Root, "gpu-runner", "AgingPipeline.Runner", "appsettings.json")));
        var shipped = TimeSpan.Parse(settings.RootElement.GetProperty("Storage").GetProperty("VisibilityTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(shipped, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(601)]
    [InlineData(86400)]
    public void A_visibility_timeout_outside_two_seconds_to_ten_minutes_is_refused(int seconds)
    {
        var problems = new StorageOptions { VisibilityTimeout = TimeSpan.FromSeconds(seconds) }.Validate();
        Assert.Contains(problems, p => p.Contains(nameof(StorageOptions.VisibilityTimeout), StringComparison.Ordinal));
    }

    [Fact]
    public void Clients_point_at_the_pipeline_names()
    {
        var clients = new StorageClients(new StorageOptions());
        Assert.Equal(BlobNames.UploadsContainer, clients.Uploads.Name);
        Assert.Equal(BlobNames.AgedContainer, clients.Aged.Name);
        Assert.Equal(BlobNames.JobsContainer, clients.Jobs.Name);
        Assert.Equal(BlobNames.JobsQueue, clients.JobsQueue.Name);
        Assert.Equal(BlobNames.PoisonQueue, clients.PoisonQueue.Name);
        Assert.Equal("devstoreaccount1", clients.BlobService.AccountName);
    }
}
