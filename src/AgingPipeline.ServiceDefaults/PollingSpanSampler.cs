using System.Text.RegularExpressions;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>The root sampler of every service: keeps every trace except those an Azure SDK call starts on its own.</summary>
/// <remarks>
/// <para>The runner polls the job queue, the local event pump lists <c>uploads</c>, and both do so every second or so
/// whether or not there is work. Each poll is an Azure SDK span (<c>QueueClient.ReceiveMessages</c>,
/// <c>BlobContainerClient.GetBlobs</c>) with no parent, so each would be a trace of its own: in the dashboard they bury
/// the uploads' traces, and in Application Insights they are paid for. A storage call made inside a request or a job
/// has a parent and is kept (the sampler is used under <see cref="ParentBasedSampler"/>, so children follow their
/// root); so is every root span of the pipeline's own source (<c>runner.job</c>, <c>EventPump.Deliver</c>).</para>
/// </remarks>
public sealed partial class PollingSpanSampler : Sampler
{
    private static readonly SamplingResult s_drop = new(SamplingDecision.Drop);
    private static readonly SamplingResult s_keep = new(SamplingDecision.RecordAndSample);

    /// <inheritdoc />
    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        samplingParameters.ParentContext.TraceId == default && IsAzureSdkOperation(samplingParameters.Name) ? s_drop : s_keep;

    /// <summary>The Azure SDK names its spans <c>{Client}.{Operation}</c>: <c>QueueClient.ReceiveMessages</c>,
    /// <c>BlobContainerClient.GetBlobs</c>.</summary>
    public static bool IsAzureSdkOperation(string name) => AzureSdkOperation().IsMatch(name);

    /// <summary>The sampler the services use: this one for root spans, the parent's decision for the rest.</summary>
    public static Sampler ForServices() => new ParentBasedSampler(new PollingSpanSampler());

    [GeneratedRegex(@"^[A-Z][A-Za-z]*Client\.[A-Z][A-Za-z]*$", RegexOptions.CultureInvariant)]
    private static partial Regex AzureSdkOperation();
}
