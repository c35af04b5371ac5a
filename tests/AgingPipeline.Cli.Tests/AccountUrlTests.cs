using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using AgingPipeline.Cli.Batch;
using AgingPipeline.Cli.Tests.Infrastructure;
using AgingPipeline.Contracts;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Xunit.Abstractions;
using AzuriteProcess = AgingPipeline.Testing.AzuriteProcess;

namespace AgingPipeline.Cli.Tests;

/// <summary><c>--account-url</c>: Entra ID sign-in with <c>DefaultAzureCredential</c>. Without any sign-in the CLI says
/// so in seconds, with what to do and exit code 21 (StorageUnavailable); with one, the token path works for real
/// against an Azurite that checks bearer tokens (<c>--oauth basic</c> over HTTPS), the token coming from the Azure
/// CLI credential (a stand-in <c>az</c> on <c>PATH</c>: there is no Azure here).</summary>
public sealed class AccountUrlTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _temp = new();

    [Fact]
    public async Task Without_any_Azure_sign_in_the_CLI_fails_in_seconds_saying_how_to_sign_in()
    {
        var input = _temp.Combine("in");
        WriteImage(Path.Combine(input, "a.png"), 0);
        var clock = Stopwatch.StartNew();

        var result = await CliRun.ProcessAsync(
            ["batch", input, "--out", _temp.Combine("out"), "--account-url", "https://nosuchaccount.blob.core.windows.net", "--json"],
            NoSignInEnvironment(), TimeSpan.FromMinutes(2));

        output.WriteLine($"exit {result.ExitCode} after {clock.Elapsed.TotalSeconds:0.0} s\n{result.Stderr}");
        Assert.True(result.ExitCode == 21, result.ToString());
        // Sign-in check (30 s at most) plus the start of a .NET process on a loaded 2-core machine.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(50), $"took {clock.Elapsed.TotalSeconds:0} s");
        using var json = JsonDocument.Parse(result.Stdout);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("StorageUnavailable", error.GetProperty("code").GetString());
        Assert.Equal(21, error.GetProperty("exitCode").GetInt32());
        var message = error.GetProperty("message").GetString()!;
        foreach (var hint in new[] { "needs an Azure sign-in", "az login", "AZURE_CLIENT_ID", "managed identity", "Storage Blob Data Contributor", "--connection", "AGING_STORAGE_CONNECTION_STRING" })
        {
            Assert.Contains(hint, message);
        }
        Assert.Contains("az login", result.Stderr);
        Assert.False(Directory.Exists(_temp.Combine("out", ".aging-batch.json")));
    }

    [Fact]
    public async Task A_credential_that_never_answers_is_given_up_after_the_sign_in_deadline()
    {
        var saved = StorageConnection.SignInTimeout;
        StorageConnection.SignInTimeout = TimeSpan.FromSeconds(1);
        try
        {
            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<PipelineException>(() =>
                StorageConnection.ConnectAsync(null, "https://account.blob.core.windows.net", new HangingCredential(), CancellationToken.None));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed.TotalSeconds:0.0} s");
            Assert.Equal(PipelineErrorCode.StorageUnavailable, error.Code);
            Assert.Contains("no credential answered within 1 s", error.Message);
            Assert.Contains("az login", error.Message);
        }
        finally
        {
            StorageConnection.SignInTimeout = saved;
        }
    }

    [Fact]
    public async Task An_unavailable_credential_is_reported_by_its_first_sentence()
    {
        var error = await Assert.ThrowsAsync<PipelineException>(() => StorageConnection.ConnectAsync(null, "https://account.blob.core.windows.net",
            new FailingCredential(new CredentialUnavailableException("DefaultAzureCredential failed to retrieve a token from the included credentials. See the troubleshooting guide.\n- EnvironmentCredential authentication unavailable.")),
            CancellationToken.None));
        Assert.Equal(PipelineErrorCode.StorageUnavailable, error.Code);
        Assert.Contains("(DefaultAzureCredential failed to retrieve a token from the included credentials)", error.Message);
        Assert.DoesNotContain("EnvironmentCredential", error.Message);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://account.blob.core.windows.net")]
    [InlineData("https://account.blob.core.windows.net/?sv=2024&sig=x")]
    public async Task A_malformed_account_url_is_a_usage_problem_not_a_crash(string url)
    {
        var result = await CliRun.InProcessAsync("status", "some-batch", "--account-url", url);
        Assert.True(result.ExitCode == 17, result.ToString());
        Assert.Contains("--account-url", result.Stderr);
    }

    [Fact]
    public async Task Connection_and_account_url_together_are_refused()
    {
        var result = await CliRun.InProcessAsync("status", "some-batch", "--account-url", "https://a.blob.core.windows.net", "--connection", "UseDevelopmentStorage=true");
        Assert.Equal(17, result.ExitCode);
        Assert.Contains("not both", result.Stderr);
    }

    /// <summary>The real token path: <c>DefaultAzureCredential</c> (restricted to developer credentials by
    /// <c>AZURE_TOKEN_CREDENTIALS=dev</c>, as a person would on a machine with a managed identity endpoint) asks
    /// <c>az account get-access-token</c>; Azurite in <c>--oauth basic</c> mode checks the bearer token's issuer,
    /// audience and lifetime (not its signature) on every call. A token for another audience is refused.</summary>
    [Fact]
    public async Task A_batch_with_account_url_uploads_with_a_bearer_token_that_Azurite_checks()
    {
        var certificate = _temp.Combine("azurite-cert.pem");
        var key = _temp.Combine("azurite-key.pem");
        var thumbprint = WriteSelfSignedCertificate(certificate, key);
        await using var azurite = new AzuriteProcess(location: null, _temp.Combine("azurite"))
        {
            ExtraArguments = ["--oauth", "basic", "--cert", certificate, "--key", key],
        };
        await azurite.StartAsync();
        var account = $"https://127.0.0.1:{azurite.BlobPort}/devstoreaccount1";
        var service = SharedKeyClient(account, thumbprint);
        await WaitUntilAsync(async () =>
        {
            try
            {
                await service.GetPropertiesAsync();
                return true;
            }
            catch (Exception ex) when (ex is Azure.RequestFailedException or HttpRequestException)
            {
                return false;
            }
        }, azurite);
        foreach (var container in new[] { BlobNames.UploadsContainer, BlobNames.JobsContainer, BlobNames.AgedContainer })
        {
            await service.GetBlobContainerClient(container).CreateIfNotExistsAsync();
        }
        var input = _temp.Combine("in");
        for (var i = 0; i < 3; i++)
        {
            WriteImage(Path.Combine(input, $"c{i}.png"), i);
        }
        var bin = _temp.Combine("bin");
        WriteFakeAzureCli(bin, Token("https://storage.azure.com"));

        var result = await CliRun.ProcessAsync(
            ["batch", input, "--out", _temp.Combine("out"), "--batch-id", "oauth-batch", "--account-url", account, "--no-wait", "--json"],
            SignedInEnvironment(bin, certificate), TimeSpan.FromMinutes(2));

        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, result + "\n" + azurite.Process?.Tail());
        Assert.True(File.Exists(Path.Combine(bin, "az.calls")), "the Azure CLI credential was not asked");
        Assert.Contains("get-access-token", File.ReadAllText(Path.Combine(bin, "az.calls")));
        using (var json = JsonDocument.Parse(result.Stdout))
        {
            Assert.Equal(3, json.RootElement.GetProperty("batch").GetProperty("uploaded").GetInt32());
            Assert.Equal(account, json.RootElement.GetProperty("batch").GetProperty("account").GetString());
        }
        var blobs = new List<string>();
        await foreach (var blob in service.GetBlobContainerClient(BlobNames.UploadsContainer).GetBlobsAsync(BlobTraits.None, BlobStates.None, "oauth-batch/", default))
        {
            blobs.Add(blob.Name);
        }
        Assert.Equal(["oauth-batch/c0.png", "oauth-batch/c1.png", "oauth-batch/c2.png"], blobs.Order(StringComparer.Ordinal));

        // The same sign-in with a token for another resource: Azurite refuses it, the CLI says storage refused.
        WriteFakeAzureCli(bin, Token("https://vault.azure.net"));
        var refused = await CliRun.ProcessAsync(
            ["status", "oauth-batch", "--account-url", account, "--json"], SignedInEnvironment(bin, certificate), TimeSpan.FromMinutes(2));
        Assert.True(refused.ExitCode == 21, refused.ToString());
        Assert.Contains("HTTP 403 AuthenticationFailed", refused.Stdout);
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>The child's environment with no way to sign in: no <c>AZURE_*</c> variables, a home without an Azure CLI
    /// or azd login.</summary>
    private Dictionary<string, string?> NoSignInEnvironment()
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal) { ["HOME"] = _temp.Combine("home") };
        Directory.CreateDirectory(_temp.Combine("home"));
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (name.StartsWith("AZURE_", StringComparison.Ordinal) || name.StartsWith("IDENTITY_", StringComparison.Ordinal) || name == "MSI_ENDPOINT")
            {
                environment[name] = null;
            }
        }
        return environment;
    }

    private Dictionary<string, string?> SignedInEnvironment(string bin, string certificate)
    {
        var environment = NoSignInEnvironment();
        environment["PATH"] = bin + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        environment["AZURE_TOKEN_CREDENTIALS"] = "dev";
        // .NET on Linux adds the certificates of SSL_CERT_FILE to its trusted roots.
        environment["SSL_CERT_FILE"] = certificate;
        return environment;
    }

    /// <summary>A JWT shaped like an Entra ID access token (unsigned: Azurite's basic mode does not check signatures).</summary>
    private static string Token(string audience)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        static string Encode(object value) => Base64Url(JsonSerializer.SerializeToUtf8Bytes(value));
        var header = Encode(new { alg = "RS256", typ = "JWT" });
        var payload = Encode(new
        {
            aud = audience,
            iss = "https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/",
            iat = now - 60,
            nbf = now - 60,
            exp = now + 3600,
            oid = "11059fcc-5514-4800-b5f8-49808b9cfab6",
            tid = "ab1f708d-50f6-404c-a006-d71b2ac7a606",
        });
        return $"{header}.{payload}.{Base64Url(RandomNumberGenerator.GetBytes(32))}";
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>An <c>az</c> that answers <c>account get-access-token</c> with <paramref name="token"/> as the real one
    /// does (JSON on stdout) and notes every call in <c>az.calls</c>.</summary>
    private static void WriteFakeAzureCli(string bin, string token)
    {
        Directory.CreateDirectory(bin);
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        File.WriteAllText(Path.Combine(bin, "token.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["accessToken"] = token,
            ["expiresOn"] = expires.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
            ["expires_on"] = expires.ToUnixTimeSeconds(),
            ["subscription"] = "00000000-0000-0000-0000-000000000000",
            ["tenant"] = "ab1f708d-50f6-404c-a006-d71b2ac7a606",
            ["tokenType"] = "Bearer",
        }));
        var script = Path.Combine(bin, "az");
        File.WriteAllText(script, """
            #!/bin/sh
            here="$(dirname "$0")"
            echo "$*" >> "$here/az.calls"
            case "$*" in
              *"account get-access-token"*) cat "$here/token.json" ;;
              *) echo "stand-in az: $*" >&2; exit 1 ;;
            esac
            """.Replace("\r", string.Empty, StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Writes a self-signed certificate for 127.0.0.1 and its key as PEM; returns its thumbprint.</summary>
    private static string WriteSelfSignedCertificate(string certificatePath, string keyPath)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        return certificate.Thumbprint;
    }

    private static void WriteImage(string path, int index)
    {
        using var image = TestImages.CharacterImage(index, 48, 48);
        TestImages.Write(path, TestImages.Png(image));
    }

    /// <summary>A shared-key client of the HTTPS Azurite that trusts exactly its certificate.</summary>
    private static BlobServiceClient SharedKeyClient(string account, string thumbprint)
    {
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) => string.Equals(certificate?.Thumbprint, thumbprint, StringComparison.OrdinalIgnoreCase),
        };
        var options = new BlobClientOptions { Transport = new HttpClientTransport(handler) };
        options.Retry.MaxRetries = 0;
        return new BlobServiceClient(new Uri(account), new StorageSharedKeyCredential("devstoreaccount1",
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="), options);
    }

    /// <summary>Waits until the HTTPS Azurite (already accepting connections) answers <paramref name="probe"/>.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> probe, AzuriteProcess azurite)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await probe())
        {
            Assert.True(azurite.Process is { HasExited: false }, "Azurite exited:\n" + azurite.Process?.Tail());
            Assert.True(DateTime.UtcNow < deadline, "Azurite (HTTPS, OAuth) did not answer within 60 s:\n" + azurite.Process?.Tail());
            await Task.Delay(200);
        }
    }

    /// <summary>A credential whose token never comes (an identity endpoint that swallows requests).</summary>
    private sealed class HangingCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new UnreachableException();
        }
    }

    private sealed class FailingCredential(Exception error) : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw error;

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw error;
    }
}
