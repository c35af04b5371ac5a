using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using System.Threading.RateLimiting;
using AgingPipeline.Contracts;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Functions.Http;

/// <summary>Who may call the API.</summary>
public enum AuthMode
{
    /// <summary>Anyone (the local stack; a deployment only with <c>allowAnonymous=true</c>). Batches and jobs are then
    /// reached by their unguessable ids alone.</summary>
    Anonymous,

    /// <summary>Only callers with a Microsoft Entra ID access token for this app; jobs and batches belong to the
    /// signed-in user who made them.</summary>
    EntraId,
}

/// <summary>How callers are authenticated. Bound from the <c>Auth</c> configuration section.</summary>
/// <remarks>Tokens are validated here, in the handler, not by App Service Authentication ("Easy Auth"): on Flex
/// Consumption, Microsoft's documentation lists Easy Auth as not supported and unauthenticated callers as not blocked
/// when it is turned on (docs/deploy.md, "Who can call what").</remarks>
public sealed class AuthOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Auth";

    /// <summary>Who may call (default <see cref="AuthMode.Anonymous"/>, for the local stack; the Bicep sets
    /// <see cref="AuthMode.EntraId"/> unless the deployment asks for an anonymous form).</summary>
    public AuthMode Mode { get; set; } = AuthMode.Anonymous;

    /// <summary>The Entra ID sign-in host (default the public cloud's).</summary>
    public string Instance { get; set; } = "https://login.microsoftonline.com/";

    /// <summary>The directory (tenant) id that issues the tokens.</summary>
    public string? TenantId { get; set; }

    /// <summary>The application (client) id of the app registration: the tokens' audience, and the web form's client.</summary>
    public string? ClientId { get; set; }

    /// <summary>The delegated scope the web form asks for and every token must carry (default <c>access_as_user</c>).</summary>
    public string Scope { get; set; } = "access_as_user";

    /// <summary>The token issuer's authority (v2.0 endpoint of the tenant).</summary>
    public string Authority => $"{Instance.TrimEnd('/')}/{TenantId}/v2.0";

    /// <summary>Checks the options; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(Mode))
        {
            problems.Add($"{nameof(Mode)} must be Anonymous or EntraId.");
        }
        if (Mode == AuthMode.EntraId)
        {
            if (string.IsNullOrWhiteSpace(TenantId))
            {
                problems.Add($"{nameof(TenantId)} is required when {nameof(Mode)} is EntraId.");
            }
            if (string.IsNullOrWhiteSpace(ClientId))
            {
                problems.Add($"{nameof(ClientId)} is required when {nameof(Mode)} is EntraId (the app registration's application id).");
            }
            if (!Uri.TryCreate(Instance, UriKind.Absolute, out var instance) || instance.Scheme != Uri.UriSchemeHttps)
            {
                problems.Add($"{nameof(Instance)} must be an https URL.");
            }
            if (string.IsNullOrWhiteSpace(Scope) || Scope.Contains(' ', StringComparison.Ordinal))
            {
                problems.Add($"{nameof(Scope)} must be one scope name.");
            }
        }
        return problems;
    }
}

/// <summary>Per-client request limits of the API. Bound from the <c>RateLimit</c> configuration section.</summary>
/// <remarks>On in Azure (the Bicep turns them on, above all for an anonymous form), off on the local stack, where the
/// tests upload hundreds of files from one client. Limits hold per function app instance: a brake on one client, not
/// a quota across a scaled-out app.</remarks>
public sealed class RateLimitOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "RateLimit";

    /// <summary>Whether requests are limited at all (default false).</summary>
    public bool Enabled { get; set; }

    /// <summary>Upload and batch-creating requests per client and minute (default 30).</summary>
    public int UploadsPerMinute { get; set; } = 30;

    /// <summary>Any <c>/api</c> requests per client and minute (default 600: a form follows its jobs by polling).</summary>
    public int RequestsPerMinute { get; set; } = 600;

    /// <summary>Checks the options; returns the problems found (empty when valid).</summary>
    public IReadOnlyList<string> Validate() =>
        UploadsPerMinute < 1 || RequestsPerMinute < 1 ? [$"{nameof(UploadsPerMinute)} and {nameof(RequestsPerMinute)} must be at least 1."] : [];
}

/// <summary>The caller of a request: authentication, the owner id that jobs and batches are stored with, the rule of
/// who sees what, and per-client rate limits.</summary>
public static class Callers
{
    /// <summary>The authorization policy of every API endpoint that reads or makes jobs and batches.</summary>
    public const string Policy = "caller";

    /// <summary>The rate-limiting policy of the requests that store files or make batches.</summary>
    public const string UploadsLimit = "uploads";

    /// <summary>The owner id of a signed-in caller (the Entra object id, <c>oid</c>; else <c>sub</c>), or null for an
    /// anonymous one.</summary>
    public static string? OwnerOf(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (user.Identity?.IsAuthenticated != true)
        {
            return null;
        }
        return user.FindFirst("oid")?.Value ?? user.FindFirst("sub")?.Value;
    }

    /// <summary>True when <paramref name="user"/> may see (or add to) something owned by <paramref name="owner"/>:
    /// it has no owner (made anonymously, or written straight into storage), or it is the caller's own.</summary>
    /// <remarks>Everything else answers exactly as if it did not exist (404), so that another user's ids tell nothing.</remarks>
    public static bool MaySee(string? owner, ClaimsPrincipal user) =>
        owner is null || string.Equals(owner, OwnerOf(user), StringComparison.Ordinal);

    /// <summary>Registers authentication (a JWT bearer scheme that validates Entra ID tokens in
    /// <see cref="AuthMode.EntraId"/>), the <see cref="Policy"/> policy and the rate limiter, all configured from the
    /// <c>Auth</c> and <c>RateLimit</c> sections when the host is built (invalid <c>Auth</c> settings stop the start:
    /// a deployment meant to be signed-in-only never comes up open because a setting is missing).</summary>
    public static IServiceCollection AddCallers(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>>(new Validator<AuthOptions>(static o => o.Validate()));
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitOptions>>(new Validator<RateLimitOptions>(static o => o.Validate()));

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<AuthOptions>>(static (options, auth) =>
        {
            var settings = auth.Value;
            options.MapInboundClaims = false;
            options.TokenValidationParameters.NameClaimType = "name";
            if (settings.Mode != AuthMode.EntraId)
            {
                // Nothing is trusted: a token sent to an anonymous deployment signs nobody in.
                options.TokenValidationParameters.ValidAudiences = [];
                return;
            }
            options.Authority = settings.Authority;
            options.TokenValidationParameters.ValidAudiences = [settings.ClientId!, $"api://{settings.ClientId}"];
            options.TokenValidationParameters.ValidIssuers = [settings.Authority, $"https://sts.windows.net/{settings.TenantId}/"];
        });
        services.AddSingleton<IAuthorizationHandler, CallerHandler>();
        services.AddAuthorization(options => options.AddPolicy(Policy, static policy => policy.AddRequirements(new CallerRequirement())));

        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = static async (context, _) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                await Problems.Create(PipelineErrorCode.Busy, "Too many requests from this client; try again in a minute.", StatusCodes.Status429TooManyRequests)
                    .ExecuteAsync(context.HttpContext).ConfigureAwait(false);
            };
            options.AddPolicy(UploadsLimit, static context => RateLimitPartition.GetFixedWindowLimiter(
                ClientKey(context), _ => Window(Limits(context).UploadsPerMinute)));
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(static context =>
                context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
                    ? RateLimitPartition.GetFixedWindowLimiter(ClientKey(context), _ => Window(Limits(context).RequestsPerMinute))
                    : RateLimitPartition.GetNoLimiter(string.Empty));
        });
        return services;
    }

    /// <summary>Authentication, authorization, and the rate limiter when it is on.</summary>
    public static WebApplication UseCallers(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        if (app.Services.GetRequiredService<IOptions<RateLimitOptions>>().Value.Enabled)
        {
            app.UseRateLimiter();
        }
        return app;
    }

    /// <summary>Whom a request is counted against: the signed-in user, else the client's address.</summary>
    /// <remarks>The handler sees the Functions host on 127.0.0.1, so the address comes from <c>X-Forwarded-For</c>: the
    /// rightmost public address, the one the platform's front end appended (a client can put anything before it, not
    /// after it).</remarks>
    public static string ClientKey(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (OwnerOf(context.User) is { } owner)
        {
            return "user:" + owner;
        }
        var forwarded = context.Request.Headers["X-Forwarded-For"].ToString();
        foreach (var part in forwarded.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Reverse())
        {
            var text = part.StartsWith('[') ? part.Trim('[', ']') : part.Contains('.', StringComparison.Ordinal) && part.Contains(':', StringComparison.Ordinal) ? part[..part.LastIndexOf(':')] : part;
            if (IPAddress.TryParse(text, out var address) && IsPublic(address))
            {
                return "ip:" + address;
            }
        }
        return "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }

    private static RateLimitOptions Limits(HttpContext context) =>
        context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;

    private static FixedWindowRateLimiterOptions Window(int permits) =>
        new() { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true };

    private static bool HasScope(ClaimsPrincipal user, string scope) =>
        user.FindAll("scp").SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Contains(scope, StringComparer.Ordinal);

    private static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal)
        {
            return false;
        }
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return true;
        }
        var b = address.GetAddressBytes();
        return !(b[0] == 10 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] is >= 64 and <= 127));
    }

    /// <summary>The requirement of <see cref="Policy"/>: anyone when anonymous, else a signed-in user with the scope.</summary>
    private sealed class CallerRequirement : IAuthorizationRequirement
    {
    }

    private sealed class CallerHandler(IOptions<AuthOptions> auth) : AuthorizationHandler<CallerRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, CallerRequirement requirement)
        {
            var settings = auth.Value;
            if (settings.Mode == AuthMode.Anonymous
                || (OwnerOf(context.User) is not null && HasScope(context.User, settings.Scope)))
            {
                context.Succeed(requirement);
            }
            return Task.CompletedTask;
        }
    }

    private sealed class Validator<T>(Func<T, IReadOnlyList<string>> validate) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var problems = validate(options);
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
