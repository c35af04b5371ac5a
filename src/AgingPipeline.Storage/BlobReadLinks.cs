using AgingPipeline.Contracts;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;

namespace AgingPipeline.Storage;

/// <summary>Creates short-lived, read-only links to single blobs (outputs in <c>aged</c>).</summary>
/// <remarks>
/// <para>Containers are private; users download through these links. With a connection string that holds an
/// account key (Azurite, key-based accounts) the link is signed with the key. With a token credential (managed
/// identity) the key is not available, and the link is a user-delegation SAS signed with a delegation key that
/// is fetched from storage and cached until shortly before it expires (one key signs many links).</para>
/// <para>Each link grants read on one blob only, over HTTPS when the account is reached over HTTPS, and starts
/// five minutes in the past to absorb clock skew between this machine and storage.</para>
/// </remarks>
public sealed class BlobReadLinks : IDisposable
{
    private static readonly TimeSpan s_clockSkew = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan s_delegationKeyLifetime = TimeSpan.FromHours(6);

    private readonly BlobServiceClient _service;
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private UserDelegationKey? _delegationKey;

    /// <summary>Creates the link factory.</summary>
    public BlobReadLinks(StorageClients clients, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(clients);
        _service = clients.BlobService;
        _options = clients.Options;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>A read link to an output blob in the <c>aged</c> container.</summary>
    /// <param name="blobName">Blob name inside <c>aged</c>.</param>
    /// <param name="cancellationToken">Cancels the delegation-key request, when one is needed.</param>
    /// <returns>The link, valid for <see cref="StorageOptions.ReadLinkLifetime"/>.</returns>
    public ValueTask<Uri> ForAgedOutputAsync(string blobName, CancellationToken cancellationToken = default) =>
        CreateAsync(BlobNames.AgedContainer, blobName, cancellationToken);

    /// <summary>A read link to any blob of the account.</summary>
    /// <param name="container">Container name.</param>
    /// <param name="blobName">Blob name.</param>
    /// <param name="cancellationToken">Cancels the delegation-key request, when one is needed.</param>
    public async ValueTask<Uri> CreateAsync(string container, string blobName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(container);
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        var blob = _service.GetBlobContainerClient(container).GetBlobClient(blobName);
        var now = _time.GetUtcNow();
        var builder = new BlobSasBuilder(BlobSasPermissions.Read, now + _options.ReadLinkLifetime)
        {
            BlobContainerName = container,
            BlobName = blobName,
            Resource = "b",
            StartsOn = now - s_clockSkew,
            Protocol = blob.Uri.Scheme == Uri.UriSchemeHttps ? SasProtocol.Https : SasProtocol.HttpsAndHttp,
        };
        if (blob.CanGenerateSasUri)
        {
            return blob.GenerateSasUri(builder);
        }
        var key = await GetDelegationKeyAsync(now, cancellationToken).ConfigureAwait(false);
        var query = builder.ToSasQueryParameters(key, _service.AccountName);
        return new BlobUriBuilder(blob.Uri) { Sas = query }.ToUri();
    }

    /// <inheritdoc />
    public void Dispose() => _keyLock.Dispose();

    private async ValueTask<UserDelegationKey> GetDelegationKeyAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var cached = _delegationKey;
        if (cached is not null && cached.SignedExpiresOn - now > _options.ReadLinkLifetime + s_clockSkew)
        {
            return cached;
        }
        await _keyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cached = _delegationKey;
            if (cached is not null && cached.SignedExpiresOn - now > _options.ReadLinkLifetime + s_clockSkew)
            {
                return cached;
            }
            var pipeline = StorageResilience.Create(_options);
            var key = await pipeline.ExecuteStorageAsync(
                static async (s, ct) => (await s.service.GetUserDelegationKeyAsync(s.start, s.expiry, ct).ConfigureAwait(false)).Value,
                (service: _service, start: (DateTimeOffset?)(now - s_clockSkew), expiry: now + s_delegationKeyLifetime),
                "issue a user delegation key",
                cancellationToken).ConfigureAwait(false);
            _delegationKey = key;
            return key;
        }
        finally
        {
            _keyLock.Release();
        }
    }
}
