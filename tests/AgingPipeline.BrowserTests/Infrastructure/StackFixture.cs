using Microsoft.Playwright;

namespace AgingPipeline.BrowserTests.Infrastructure;

/// <summary>The whole local stack, as real processes on free loopback ports, plus one Chromium: the shared
/// <see cref="LocalStack"/> (a private Azurite, the function app, the event pump and one runner serving the shipped
/// model, or the small test model while none is shipped), its hosts in <c>Production</c> as deployed.</summary>
/// <remarks>Process logs go to <c>artifacts/stacks/browser/logs/</c> next to the screenshots, so a failing test
/// explains itself.</remarks>
public sealed class StackFixture : IAsyncLifetime
{
    /// <summary>Debian's Chromium; Playwright never downloads a browser here.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] s_chromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private LocalStack? _stack;
    private IPlaywright? _playwright;

    /// <summary>Base URL of the function app, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>The browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The model the stack serves.</summary>
    public string ModelName => _stack?.ModelName ?? string.Empty;

    /// <summary>Where screenshots and logs go (git-ignored).</summary>
    public static string ArtifactsDirectory { get; } = Path.Combine(RepoPaths.Root, "tests", "AgingPipeline.BrowserTests", "artifacts");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"{ChromiumPath} is missing. Install Debian's Chromium (tests/AgingPipeline.BrowserTests/ensure-chromium.sh, or apt-get install -y chromium); never `playwright install`.");
        }
        Directory.CreateDirectory(ArtifactsDirectory);

        _stack = await LocalStack.StartAsync(new LocalStackOptions("browser")
        {
            ArtifactsDirectory = ArtifactsDirectory,
            HostEnvironment = "Production",
            RunnerConcurrency = 2,
            // The runner's own default (appsettings.json): CPU inference of a form's jobs takes far longer than seconds.
            VisibilityTimeout = TimeSpan.FromMinutes(5),
        });
        BaseUrl = _stack.FunctionAppUrl.ToString().TrimEnd('/');

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = s_chromiumArgs,
        });
    }

    /// <summary>Everything the processes wrote so far (for failure messages).</summary>
    public string Logs() => _stack?.Logs(60) ?? string.Empty;

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }
}
