using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using AgingPipeline.Contracts;
using AgingPipeline.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace AgingPipeline.IntegrationTests;

/// <summary>The function app with <c>Auth:Mode=EntraId</c>, as the Bicep deploys it by default, whose JWT bearer
/// handler trusts a signing key made here instead of fetching Entra ID's: tokens are real, signed JWTs validated by the
/// app's own handler (issuer, audience, lifetime, signature, scope).</summary>
public sealed class SignedInFixture : PipelineFixture
{
    public const string TenantId = "7f0c2b9e-3c1a-4d55-9b7e-2f6a1c0d8e42";
    public const string ClientId = "0b5e8f31-6d2c-4a8e-b1f7-93c4d2e6a750";

    public static string Issuer => $"https://login.microsoftonline.com/{TenantId}/v2.0";

    public RsaSecurityKey Key { get; } = new(RSA.Create(2048)) { KeyId = "test-key" };

    public override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Auth:Mode"] = "EntraId",
        ["Auth:TenantId"] = TenantId,
        ["Auth:ClientId"] = ClientId,
    };

    protected override void ConfigureServices(IServiceCollection services) =>
        services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, options =>
        {
            var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
            configuration.SigningKeys.Add(Key);
            options.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(configuration);
        });

    /// <summary>An access token for the user <paramref name="oid"/>, as Entra ID issues them for this app's scope.</summary>
    public string Token(string oid, string scope = "access_as_user", SecurityKey? key = null, string audience = ClientId) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim("oid", oid), new Claim("tid", TenantId), new Claim("scp", scope), new Claim("name", oid)]),
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(key ?? Key, SecurityAlgorithms.RsaSha256),
        });
}

/// <summary>Issue 15: deployed auth. With <c>Auth:Mode=EntraId</c> only signed-in callers reach jobs and batches, and
/// they reach only their own; the page and its settings stay open so that the form can sign in.</summary>
public sealed class AuthTests(SignedInFixture fixture) : IClassFixture<SignedInFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private const string Bob = "b0b00000-0000-4000-8000-000000000002";

    private HttpClient Client(string? token)
    {
        var client = fixture.App.CreateClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    private static MultipartFormDataContent Form(string? batchId = null, string? token = null)
    {
        var form = new MultipartFormDataContent { { new StringContent("30"), "ages" } };
        if (batchId is not null)
        {
            form.Add(new StringContent(batchId), "batchId");
            form.Add(new StringContent(token!), "batchToken");
        }
        var file = new ByteArrayContent(TestImages.Png());
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "files", "portrait.png");
        return form;
    }

    [Fact]
    public async Task Anonymous_and_badly_signed_calls_are_refused_while_the_page_and_its_settings_stay_open()
    {
        var anonymous = Client(null);
        var job = new string('a', 26);
        var batch = BatchIds.New();
        var refused = new List<HttpResponseMessage>
        {
            await anonymous.PostAsync("/api/uploads", Form()),
            await anonymous.PostAsync("/api/batches", null),
            await anonymous.GetAsync($"/api/jobs/{job}"),
            await anonymous.GetAsync($"/api/batches/{batch}"),
            await anonymous.GetAsync($"/api/jobs/{job}/download.zip"),
            await Client(fixture.Token(Alice, key: new RsaSecurityKey(RSA.Create(2048)))).GetAsync($"/api/jobs/{job}"),
            await Client(fixture.Token(Alice, audience: "api://someone-else")).GetAsync($"/api/jobs/{job}"),
        };
        foreach (var response in refused)
        {
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{response.RequestMessage!.RequestUri}: {(int)response.StatusCode}");
            Assert.Equal("Unauthenticated", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await Client(fixture.Token(Alice, scope: "something.else")).GetAsync($"/api/jobs/{job}")).StatusCode);
        Assert.Empty(await fixture.ListAllUploadsAsync());

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/health")).StatusCode);
        var config = await anonymous.GetFromJsonAsync<JsonElement>("/api/config");
        var auth = config.GetProperty("auth");
        Assert.True(auth.GetProperty("required").GetBoolean());
        Assert.Equal(SignedInFixture.ClientId, auth.GetProperty("clientId").GetString());
        Assert.Equal(SignedInFixture.Issuer, auth.GetProperty("authority").GetString());
        Assert.Equal($"api://{SignedInFixture.ClientId}/access_as_user", auth.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task Jobs_and_batches_belong_to_the_user_who_made_them_and_read_as_missing_to_anyone_else()
    {
        var alice = Client(fixture.Token(Alice));
        var bob = Client(fixture.Token(Bob));
        var upload = await alice.PostAsync("/api/uploads", Form());
        Assert.Equal(HttpStatusCode.Accepted, upload.StatusCode);
        var accepted = await upload.Content.ReadFromJsonAsync<JsonElement>();
        var batchId = accepted.GetProperty("batchId").GetString()!;
        var batchToken = accepted.GetProperty("batchToken").GetString()!;
        var job = accepted.GetProperty("jobs")[0];
        var jobId = job.GetProperty("jobId").GetString()!;
        var statusUrl = job.GetProperty("statusUrl").GetString()!;

        // Before the storage event: the pending job is Alice's alone.
        Assert.Equal("pending", (await alice.GetFromJsonAsync<JsonElement>(statusUrl)).GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(statusUrl)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await Invocations.OnImageUploadedAsync(Client(null), fixture.Clients.Uploads, job.GetProperty("blob").GetString()!)).StatusCode);
        Assert.Equal(Alice, (await fixture.Jobs.GetAsync(jobId))!.Record.Owner);
        Assert.Equal(Alice, (await fixture.Jobs.GetBatchAsync(batchId))!.Owner);

        Assert.Equal("queued", (await alice.GetFromJsonAsync<JsonElement>($"/api/jobs/{jobId}")).GetProperty("state").GetString());
        Assert.Equal(1, (await alice.GetFromJsonAsync<JsonElement>($"/api/batches/{batchId}")).GetProperty("total").GetInt32());
        var bobsJob = await bob.GetAsync($"/api/jobs/{jobId}");
        var bobsBatch = await bob.GetAsync($"/api/batches/{batchId}");
        var bobsZip = await bob.GetAsync($"/api/jobs/{jobId}/download.zip");
        var problems = new List<JsonElement>();
        foreach (var response in new[] { bobsJob, bobsBatch, bobsZip })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            problems.Add(await response.Content.ReadFromJsonAsync<JsonElement>());
            Assert.Equal("NotFound", problems[^1].GetProperty("code").GetString());
        }
        Assert.Equal($"There is no job {jobId}.", problems[0].GetProperty("detail").GetString());
        Assert.Equal($"There is no batch {batchId}.", problems[1].GetProperty("detail").GetString());

        // Alice's token does not let Bob into her batch: it reads as no batch at all.
        var before = await fixture.ListAllUploadsAsync();
        var intrusion = await bob.PostAsync("/api/uploads", Form(batchId, batchToken));
        Assert.Equal(HttpStatusCode.NotFound, intrusion.StatusCode);
        Assert.Equal($"There is no batch {batchId} that this token opens.", (await intrusion.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(before, await fixture.ListAllUploadsAsync());
        Assert.Equal(HttpStatusCode.Accepted, (await alice.PostAsync("/api/uploads", Form(batchId, batchToken))).StatusCode);

        // A batch Bob makes is his.
        var created = await bob.PostAsync("/api/batches", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var bobsBatchId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("batchId").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"/api/batches/{bobsBatchId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"/api/batches/{bobsBatchId}")).StatusCode);
    }
}

/// <summary>An anonymous deployment (<c>allowAnonymous=true</c>) with its per-client limits on.</summary>
public sealed class RateLimitedFixture : PipelineFixture
{
    public override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["RateLimit:Enabled"] = "true",
        ["RateLimit:UploadsPerMinute"] = "2",
        ["RateLimit:RequestsPerMinute"] = "50",
    };
}

/// <summary>An anonymous form is rate-limited per client: the address the platform's front end appended to
/// <c>X-Forwarded-For</c> (the handler itself only ever sees the Functions host on 127.0.0.1).</summary>
public sealed class RateLimitTests(RateLimitedFixture fixture) : IClassFixture<RateLimitedFixture>
{
    private HttpClient Client(string forwardedFor)
    {
        var client = fixture.App.CreateClient();
        client.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);
        return client;
    }

    [Fact]
    public async Task An_anonymous_client_is_held_to_its_own_limit_and_others_are_not()
    {
        var first = Client("203.0.113.7:50123");
        var spoofing = Client("198.51.100.99, 203.0.113.7");
        var other = Client("198.51.100.20");

        Assert.Equal(HttpStatusCode.Created, (await first.PostAsync("/api/batches", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await first.PostAsync("/api/batches", null)).StatusCode);
        var third = await first.PostAsync("/api/batches", null);
        // The client's own prefix does not make it someone else: the rightmost public address counts.
        var disguised = await spoofing.PostAsync("/api/batches", null);

        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("Busy", (await third.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Equal("60", third.Headers.RetryAfter?.ToString());
        Assert.Equal(HttpStatusCode.TooManyRequests, disguised.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await other.PostAsync("/api/batches", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/api/health")).StatusCode);
    }
}
