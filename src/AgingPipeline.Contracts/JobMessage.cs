using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgingPipeline.Contracts;

/// <summary>The queue message that asks a runner to age one input blob. It carries references only, never
/// image bytes: a storage queue message is limited to 64 KiB.</summary>
/// <param name="SchemaVersion">Message schema version; consumers refuse versions they do not know.</param>
/// <param name="JobId">Deterministic id (see <see cref="JobIds"/>).</param>
/// <param name="InputContainer">Container of the input blob (normally <c>uploads</c>).</param>
/// <param name="InputBlob">Name of the input blob inside its container.</param>
/// <param name="InputETag">ETag of the input when the job was created; a different ETag means a different job.</param>
/// <param name="TargetAges">Ages in years, validated and de-duplicated, ascending.</param>
/// <param name="ModelName">Model repository name.</param>
/// <param name="ModelVersion">Model version, or null for the newest valid version.</param>
/// <param name="BatchId">Optional batch the upload belongs to.</param>
/// <param name="TraceParent">W3C trace context of the creating activity, so runner spans join the same trace.</param>
/// <param name="Region">Which part of the picture to age; a message without it (written before regions existed)
/// reads as <see cref="AgingRegion.Auto"/>.</param>
/// <remarks>Fields are only ever added, optional and with a default that means what the message meant before they
/// existed, and then the schema version stays: a runner of the previous build ignores the new field instead of
/// poisoning every message during a rolling deployment. <see cref="CurrentSchemaVersion"/> changes only for a
/// change an older reader would misunderstand.</remarks>
public sealed record JobMessage(
    int SchemaVersion,
    string JobId,
    string InputContainer,
    string InputBlob,
    string InputETag,
    IReadOnlyList<int> TargetAges,
    string ModelName,
    string? ModelVersion,
    string? BatchId,
    string? TraceParent,
    AgingRegion Region = AgingRegion.Auto)
{
    /// <summary>The schema version this build writes and reads.</summary>
    public const int CurrentSchemaVersion = 1;
}

/// <summary>Source-generated JSON for the contracts (camelCase, enums as strings).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, WriteIndented = false)]
[JsonSerializable(typeof(JobMessage))]
[JsonSerializable(typeof(JobRecord))]
[JsonSerializable(typeof(RegionOutcome))]
[JsonSerializable(typeof(BatchRecord))]
public sealed partial class ContractsJsonContext : JsonSerializerContext
{
}
