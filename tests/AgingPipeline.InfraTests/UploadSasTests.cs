using System.Diagnostics;
using System.Net;
using AgingPipeline.IntegrationTests.Infrastructure;
using AgingPipeline.Storage;

namespace AgingPipeline.InfraTests;

/// <summary>The SAS that <c>run.sh</c> prints "for uploads" (made by <c>infra/local/upload-sas.sh</c>), tried against
/// a real Azurite: it may add blobs to <c>uploads</c> and do nothing else.</summary>
/// <remarks>Issue 15: the token used to be an account SAS, and with it a plain <c>PUT</c> wrote into <c>aged/</c> and
/// <c>models/</c> (201), so anyone given the line could replace a model.</remarks>
public sealed class UploadSasTests : IAsyncLifetime
{
    private AzuriteInstance? _azurite;
    private StorageClients? _clients;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteInstance.StartAsync();
        _clients = _azurite.CreateClients();
        await _clients.EnsureCreatedAsync();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_printed_upload_SAS_creates_blobs_in_uploads_only_and_cannot_read_list_or_delete()
    {
        // run.sh prints the token this script makes (and no other).
        var runScript = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "run.sh"));
        Assert.Contains("infra/local/upload-sas.sh", runScript, StringComparison.Ordinal);
        Assert.DoesNotContain("srt=", runScript, StringComparison.Ordinal);

        var sas = await MakeSasAsync("2 hours");
        var account = _clients!.BlobService.Uri.ToString().TrimEnd('/');
        Assert.Contains("sr=c", sas, StringComparison.Ordinal);
        Assert.Contains("sp=cw", sas, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Created, await PutAsync($"{account}/uploads/drop/cat.png?{sas}"));
        Assert.True((await _clients.Uploads.GetBlobClient("drop/cat.png").ExistsAsync()).Value);

        // The other containers, where outputs and models live: refused, and nothing was written.
        Assert.Equal(HttpStatusCode.Forbidden, await PutAsync($"{account}/aged/job/cat.age60.png?{sas}"));
        Assert.Equal(HttpStatusCode.Forbidden, await PutAsync($"{account}/models/character-ager/9/model.onnx?{sas}"));
        Assert.Equal(HttpStatusCode.Forbidden, await PutAsync($"{account}/jobs/job.json?{sas}"));
        Assert.False((await _clients.Aged.GetBlobClient("job/cat.age60.png").ExistsAsync()).Value);
        Assert.False((await _clients.Models.GetBlobClient("character-ager/9/model.onnx").ExistsAsync()).Value);

        // Inside uploads: no reading, listing or deleting (what others uploaded stays private).
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Get, $"{account}/uploads/drop/cat.png?{sas}"));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Get, $"{account}/uploads?restype=container&comp=list&{sas}"));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Delete, $"{account}/uploads/drop/cat.png?{sas}"));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Get, $"{account}?comp=list&{sas}"));
    }

    [Fact]
    public async Task The_printed_upload_SAS_expires_after_its_lifetime()
    {
        var sas = await MakeSasAsync("2 hours");
        var expiry = DateTimeOffset.Parse(Uri.UnescapeDataString(System.Web.HttpUtility.ParseQueryString(sas)["se"]!), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expiry - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(115), TimeSpan.FromMinutes(121));

        var expired = await MakeSasAsync("-1 minute");
        Assert.Equal(HttpStatusCode.Forbidden, await PutAsync($"{_clients!.BlobService.Uri.ToString().TrimEnd('/')}/uploads/drop/late.png?{expired}"));
    }

    private async Task<HttpStatusCode> PutAsync(string url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent([1, 2, 3]) };
        request.Headers.Add("x-ms-blob-type", "BlockBlob");
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, string url)
    {
        using var request = new HttpRequestMessage(method, url);
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Runs <c>infra/local/upload-sas.sh</c> as <c>run.sh</c> does.</summary>
    private static async Task<string> MakeSasAsync(string lifetime)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var argument in new[] { Path.Combine(RepoPaths.Root, "infra", "local", "upload-sas.sh"), "devstoreaccount1", AzuriteInstance.AccountKey, lifetime })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"upload-sas.sh failed ({process.ExitCode}): {error}");
        return output.Trim();
    }
}
