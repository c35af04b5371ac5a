namespace AgingPipeline.Functions.Http;

/// <summary>Adds browser security headers to every response.</summary>
/// <remarks>
/// <para><c>nosniff</c> stops a browser from executing an upload served back under a wrong type; the frame and
/// referrer headers stop clickjacking and leaking job URLs (which carry SAS links) to other sites.</para>
/// <para>API answers are never cached (job state changes, and they embed short-lived links) and may not be
/// rendered as a document: <c>default-src 'none'</c>. Pages served outside <c>/api</c> (the web form) keep the
/// content security policy they set themselves and only get <c>frame-ancestors 'none'</c> when they set none.</para>
/// </remarks>
public sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    /// <summary>Sets the headers when the response starts, then runs the rest of the pipeline.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            var headers = http.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            if (http.Request.Path.StartsWithSegments("/api"))
            {
                headers.CacheControl = "no-store";
                headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
            }
            else if (string.IsNullOrEmpty(headers.ContentSecurityPolicy))
            {
                headers.ContentSecurityPolicy = "frame-ancestors 'none'";
            }
            return Task.CompletedTask;
        }, context);
        return next(context);
    }
}
