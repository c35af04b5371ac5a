using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace AgingPipeline.Cli.Batch;

/// <summary>The pipeline's storage as the CLI reaches it.</summary>
/// <param name="Clients">The SDK clients.</param>
/// <param name="Jobs">Job records and batch markers.</param>
/// <param name="Pipeline">The storage resilience pipeline.</param>
/// <param name="Account">The blob endpoint (no secrets), to tell accounts apart in state files and messages.</param>
internal sealed record PipelineStorage(StorageClients Clients, JobStore Jobs, Polly.ResiliencePipeline Pipeline, string Account);

/// <summary>Builds <see cref="StorageOptions"/> from <c>--connection</c> / <c>--account-url</c>.</summary>
/// <remarks>
/// <para>Default: the connection string in <c>AGING_STORAGE_CONNECTION_STRING</c>, else the local Azurite
/// (<c>UseDevelopmentStorage=true</c>), which is what <c>./run.sh</c> starts. Retries are shorter than the services' own
/// so that a stack that is not running is reported within seconds.</para>
/// <para><c>--account-url</c> signs in with <c>DefaultAzureCredential</c> (environment, workload or managed identity,
/// Azure CLI / azd / PowerShell login): the identity needs <em>Storage Blob Data Contributor</em> on the account. A token
/// is asked for once before any storage call, with a deadline, so that a machine with no sign-in at all is told so in
/// seconds, with what to do, instead of every storage call failing (or waiting) on its own.</para>
/// </remarks>
internal static class StorageConnection
{
    /// <summary>Environment variable holding a connection string.</summary>
    public const string ConnectionStringVariable = "AGING_STORAGE_CONNECTION_STRING";

    /// <summary>The scope of Azure Storage's data plane.</summary>
    public const string StorageScope = "https://storage.azure.com/.default";

    /// <summary>How long the sign-in check waits for a token (default 30 s; tests shorten it).</summary>
    /// <remarks>Long enough for <c>az login</c>'s token cache (the Azure CLI takes a few seconds to start) and a managed
    /// identity endpoint; short enough that a machine where a credential hangs (an unreachable identity endpoint)
    /// fails in seconds rather than after the sum of every credential's own timeouts and retries.</remarks>
    internal static TimeSpan SignInTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Connects to the pipeline's storage; with <paramref name="accountUrl"/>, checks the sign-in first.</summary>
    /// <param name="connection">A connection string, or null for the default.</param>
    /// <param name="accountUrl">A blob endpoint for Entra ID sign-in, or null.</param>
    /// <param name="cancellationToken">Cancels the sign-in check.</param>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/> for conflicting or malformed
    /// options; <see cref="PipelineErrorCode.StorageUnavailable"/> when no credential gives a token.</exception>
    public static Task<PipelineStorage> ConnectAsync(string? connection, string? accountUrl, CancellationToken cancellationToken = default) =>
        ConnectAsync(connection, accountUrl, credential: null, cancellationToken);

    /// <summary>Connects as <see cref="ConnectAsync(string?, string?, CancellationToken)"/> does, with
    /// <paramref name="credential"/> for <paramref name="accountUrl"/> (null: <c>DefaultAzureCredential</c>).</summary>
    internal static async Task<PipelineStorage> ConnectAsync(string? connection, string? accountUrl, TokenCredential? credential, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(connection) && !string.IsNullOrWhiteSpace(accountUrl))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, "Pass either --connection or --account-url, not both.");
        }
        var options = new StorageOptions
        {
            MaxRetryAttempts = 3,
            RetryBaseDelay = TimeSpan.FromMilliseconds(200),
            RetryMaxDelay = TimeSpan.FromSeconds(2),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        };
        if (!string.IsNullOrWhiteSpace(accountUrl))
        {
            var account = ParseAccountUrl(accountUrl);
            options.ConnectionString = null;
            options.BlobServiceUri = account;
            options.QueueServiceUri = QueueUriFor(account);
            credential ??= new DefaultAzureCredential();
            await CheckSignInAsync(credential, account, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            options.ConnectionString = string.IsNullOrWhiteSpace(connection)
                ? Environment.GetEnvironmentVariable(ConnectionStringVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : StorageOptions.DevelopmentConnectionString
                : connection.Trim();
        }
        StorageClients clients;
        try
        {
            clients = new StorageClients(options, credential);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest, $"The storage connection is not usable: {e.Message}", e);
        }
        var pipeline = StorageResilience.Create(options);
        return new PipelineStorage(clients, new JobStore(clients.Jobs, pipeline), pipeline, Describe(clients.BlobService));
    }

    /// <summary>Parses <c>--account-url</c>: an absolute http(s) URL, the blob endpoint of an account.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.InvalidRequest"/>.</exception>
    internal static Uri ParseAccountUrl(string value)
    {
        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(uri.Query))
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"--account-url '{value}' is not the blob endpoint of a storage account, such as https://myaccount.blob.core.windows.net (no SAS: use --connection for one).");
        }
        return uri;
    }

    /// <summary>Asks <paramref name="credential"/> for a storage token, once, within <see cref="SignInTimeout"/>.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.StorageUnavailable"/>, saying how to sign in.</exception>
    private static async Task CheckSignInAsync(TokenCredential credential, Uri account, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(SignInTimeout);
        try
        {
            await credential.GetTokenAsync(new TokenRequestContext([StorageScope]), deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw SignInFailed(account, $"no credential answered within {SignInTimeout.TotalSeconds:0.#} s", null);
        }
        catch (AuthenticationFailedException e)
        {
            // CredentialUnavailableException (nothing set up) derives from it. The message lists every credential
            // tried and why, at length: its first sentence is the summary, AGING_DEBUG=1 shows all of it.
            throw SignInFailed(account, Environment.GetEnvironmentVariable(AgingCli.DebugVariable) is "1" or "true" ? e.Message : FirstSentence(e.Message), e);
        }
    }

    private static string FirstSentence(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        var end = line.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? line[..end] : line.TrimEnd('.');
    }

    private static PipelineException SignInFailed(Uri account, string detail, Exception? inner) => new(
        PipelineErrorCode.StorageUnavailable,
        $"--account-url {account.GetLeftPart(UriPartial.Path).TrimEnd('/')} needs an Azure sign-in, and none worked ({detail}). "
        + "Sign in with 'az login' (or 'azd auth login'); or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal; "
        + "or run where a managed identity is assigned; the identity needs the role Storage Blob Data Contributor on the account. "
        + $"Or use a connection string instead: --connection or ${ConnectionStringVariable}.",
        inner);

    /// <summary>The queue endpoint of the account whose blob endpoint is <paramref name="blobUri"/>.</summary>
    /// <remarks>The CLI never uses the queue, but <see cref="StorageClients"/> wants both endpoints.</remarks>
    private static Uri QueueUriFor(Uri blobUri)
    {
        var builder = new UriBuilder(blobUri);
        if (builder.Host.Contains(".blob.", StringComparison.OrdinalIgnoreCase))
        {
            builder.Host = builder.Host.Replace(".blob.", ".queue.", StringComparison.OrdinalIgnoreCase);
        }
        return builder.Uri;
    }

    private static string Describe(BlobServiceClient service) => service.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
}
