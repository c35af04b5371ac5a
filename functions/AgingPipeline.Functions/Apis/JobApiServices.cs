using System.Security.Claims;
using AgingPipeline.Functions.Http;
using AgingPipeline.Storage;
using Polly;
using Polly.Registry;

namespace AgingPipeline.Functions.Apis;

/// <summary>What every job and batch handler is given: the caller and the storage it reads. Bound with
/// <c>[AsParameters]</c> (as eShop's <c>OrderServices</c>) instead of the same parameters repeated per route.</summary>
/// <param name="User">The caller (anonymous unless <see cref="AuthMode.EntraId"/>).</param>
/// <param name="Jobs">Job and batch records.</param>
/// <param name="Clients">The storage clients.</param>
/// <param name="Pipelines">The resilience pipelines.</param>
public sealed record JobApiServices(ClaimsPrincipal User, JobStore Jobs, StorageClients Clients, ResiliencePipelineProvider<string> Pipelines)
{
    /// <summary>The <c>storage</c> resilience pipeline.</summary>
    public ResiliencePipeline StoragePipeline => Pipelines.GetPipeline(StorageResilience.PipelineName);
}
