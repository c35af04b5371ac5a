using System.IO.Compression;
using System.Net.Http.Json;
using System.Text.Json;
using AgingPipeline.BrowserTests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace AgingPipeline.BrowserTests;

/// <summary>The web form in Chromium against the real stack: drop, ages, live states, results, compare, downloads,
/// resume after reload, folder upload.</summary>
public sealed class WebFormTests(StackFixture stack, ITestOutputHelper output) : IClassFixture<StackFixture>, IAsyncLifetime
{
    /// <summary>How long a test waits for the pipeline (CPU inference on a shared 2-core machine).</summary>
    private static readonly TimeSpan s_pipelineTimeout = TimeSpan.FromMinutes(6);

    private static readonly byte[] s_pngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>A file name that would run script if it were ever inserted as HTML.</summary>
    private const string HostileName = "<img src=x onerror=window.__xss=1>.png";

    /// <summary>Records every state each card passes through (cards are keyed by their data-key).</summary>
    private const string StateRecorder = """
        window.__states = {};
        new MutationObserver((records) => {
          for (const r of records) {
            const card = r.target;
            if (!(card instanceof HTMLElement) || !card.classList.contains('card')) continue;
            const key = card.dataset.key;
            const list = (window.__states[key] ||= []);
            if (list[list.length - 1] !== card.dataset.state) list.push(card.dataset.state);
          }
        }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
        """;

    private readonly List<string> _consoleErrors = [];
    private IBrowserContext? _context;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.CloseAsync();
        }
    }

    [Fact]
    public async Task Three_dropped_images_at_two_ages_show_results_compare_downloads_and_the_corrupt_ones_reason()
    {
        var page = await OpenAsync(1280, 900);

        // The page's own security headers.
        var home = await page.APIRequest.GetAsync(stack.BaseUrl + "/");
        Assert.Equal(200, home.Status);
        Assert.Equal("nosniff", home.Headers["x-content-type-options"]);
        var csp = home.Headers["content-security-policy"];
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("style-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        var script = await page.APIRequest.GetAsync(stack.BaseUrl + "/app.js");
        Assert.StartsWith("text/javascript", script.Headers["content-type"]);
        var unchanged = await page.APIRequest.GetAsync(stack.BaseUrl + "/app.js", new() { Headers = new Dictionary<string, string> { ["If-None-Match"] = script.Headers["etag"] } });
        Assert.Equal(304, unchanged.Status);

        // Defaults come from the server's configuration.
        var config = await GetConfigAsync();
        Assert.Equal(config.DefaultAges, await PressedAgesAsync(page));

        // Two ages: one preset, one custom.
        foreach (var age in config.DefaultAges)
        {
            await page.Locator($".chip[data-age='{age}']").ClickAsync();
        }
        Assert.Empty(await PressedAgesAsync(page));
        await Assertions.Expect(page.Locator("#ages-note")).ToHaveTextAsync("Pick at least one age.");
        await page.Locator(".chip[data-age='20']").ClickAsync();
        await page.GetByLabel("Custom age").FillAsync("70");
        await page.GetByLabel("Custom age").PressAsync("Enter");
        Assert.Equal(new[] { 20, 70 }, await PressedAgesAsync(page));

        // Drop three images, one of them a truncated PNG (its header still says PNG).
        var good1 = await File.ReadAllBytesAsync(Heldout("id1000003_age30.png"));
        var good2 = await File.ReadAllBytesAsync(Heldout("id1000042_age10.png"));
        var full = await File.ReadAllBytesAsync(Heldout("id1000017_age30.png"));
        var corrupt = full[..(full.Length * 2 / 5)];
        await DropFilesAsync(page, "#drop", [(HostileName, "image/png", good1), ("hero.png", "image/png", good2), ("broken.png", "image/png", corrupt)]);
        await Assertions.Expect(page.Locator(".card[data-state=ready]")).ToHaveCountAsync(3);
        foreach (var name in new[] { HostileName, "hero.png" })
        {
            await WaitForImagesAsync(page.Locator(".card", new() { HasTextString = name }), ".thumb img", 1);
        }
        await Assertions.Expect(page.Locator("#start")).ToHaveTextAsync("Age 3 images");
        await ScreenshotAsync(page, "1-ready.png");

        await page.Locator("#start").ClickAsync();
        await WaitUntilSettledAsync(page, 3);
        await ScreenshotAsync(page, "2-settled.png");

        var done = page.Locator(".card[data-state=done]");
        var failed = page.Locator(".card[data-state=failed]");
        Assert.Equal(2, await done.CountAsync());
        Assert.Equal(1, await failed.CountAsync());

        // Names are shown as text, never as markup.
        Assert.Equal(1, await page.Locator(".card .name", new() { HasTextString = HostileName }).CountAsync());
        Assert.Null(await page.EvaluateAsync<int?>("() => window.__xss ?? null"));

        // Every good upload went uploading → queued → … → done.
        var states = await page.EvaluateAsync<Dictionary<string, string[]>>("() => window.__states");
        foreach (var key in await done.EvaluateAllAsync<string[]>("cards => cards.map(c => c.dataset.key)"))
        {
            var seen = states[key];
            Assert.True(seen.Contains("uploading") && Array.IndexOf(seen, "uploading") < Array.IndexOf(seen, "queued")
                && Array.IndexOf(seen, "queued") < Array.IndexOf(seen, "done"), $"states of card {key}: {string.Join(" → ", seen)}");
        }

        // Two decodable aged images per good upload, labelled by age.
        for (var i = 0; i < 2; i++)
        {
            var card = done.Nth(i);
            await Assertions.Expect(card.Locator(".outputs img")).ToHaveCountAsync(2);
            await WaitForImagesAsync(card, ".outputs img", 2);
            Assert.Equal(new[] { "Age 20", "Age 70" }, await card.Locator(".outputs figcaption span").AllTextContentsAsync());
        }

        // The corrupt one says why, with its code.
        var error = failed.Locator(".error");
        await Assertions.Expect(failed.Locator(".name")).ToHaveTextAsync("broken.png");
        Assert.Equal("CorruptImage", await error.Locator("code").TextContentAsync());
        Assert.True((await error.TextContentAsync())!.Trim().Length > "CorruptImage".Length + 10, "the reason is missing");

        // Compare: the original comes from the local file; moving the split (by keyboard) moves the clip.
        var first = done.First;
        Assert.StartsWith("blob:", await first.Locator(".compare img.before").GetAttributeAsync("src"));
        var after = first.Locator(".compare img.after");
        await WaitForImagesAsync(first, ".compare img", 2);
        var clipBefore = await after.EvaluateAsync<string>("e => getComputedStyle(e).clipPath");
        await first.GetByLabel("Split").FocusAsync();
        await page.Keyboard.PressAsync("End");
        var clipAfter = await after.EvaluateAsync<string>("e => getComputedStyle(e).clipPath");
        Assert.NotEqual(clipBefore, clipAfter);
        Assert.Contains("100%", clipAfter);
        await page.Keyboard.PressAsync("Home");
        Assert.NotEqual(clipAfter, await after.EvaluateAsync<string>("e => getComputedStyle(e).clipPath"));
        await first.GetByLabel("Split").FillAsync("35");
        await first.GetByLabel("Right").SelectOptionAsync(new SelectOptionValue { Label = "Age 20" });
        Assert.Equal(await first.Locator(".outputs img").First.GetAttributeAsync("src"), await after.GetAttributeAsync("src"));

        // The contact sheet opens and decodes.
        await first.Locator(".sheet summary").ClickAsync();
        await WaitForImagesAsync(first, ".sheet img", 1);

        // Download all: a zip of both ages and the contact sheet, each a PNG.
        var download = await page.RunAndWaitForDownloadAsync(() => first.GetByText("Download all (.zip)").ClickAsync());
        var zipPath = Path.Combine(StackFixture.ArtifactsDirectory, "download.zip");
        await download.SaveAsAsync(zipPath);
        Assert.EndsWith("-aged.zip", download.SuggestedFilename);
        using (var zip = ZipFile.OpenRead(zipPath))
        {
            Assert.Equal(3, zip.Entries.Count);
            Assert.Single(zip.Entries, e => e.Name.Contains(".age20."));
            Assert.Single(zip.Entries, e => e.Name.Contains(".age70."));
            Assert.Single(zip.Entries, e => e.Name.Contains(".contact."));
            foreach (var entry in zip.Entries)
            {
                await using var stream = await entry.OpenAsync();
                var head = new byte[8];
                await stream.ReadExactlyAsync(head);
                Assert.Equal(s_pngSignature, head);
            }
        }

        // Download one: an attachment with the real image type.
        var one = await first.GetByLabel("Download age 70").GetAttributeAsync("href");
        var file = await page.APIRequest.GetAsync(stack.BaseUrl + one);
        Assert.Equal(200, file.Status);
        Assert.Equal("image/png", file.Headers["content-type"]);
        Assert.StartsWith("attachment", file.Headers["content-disposition"]);
        Assert.Equal(s_pngSignature, (await file.BodyAsync())[..8]);

        await first.GetByLabel("Split").FillAsync("50");
        await first.GetByLabel("Right").SelectOptionAsync(new SelectOptionValue { Label = "Age 70" });
        await first.Locator(".sheet summary").ClickAsync();
        await ScreenshotAsync(page, "3-results.png", copyToDocs: true);

        // A reload resumes from localStorage with fresh links; the original is no longer available, outputs are.
        await page.ReloadAsync();
        await WaitUntilSettledAsync(page, 3);
        Assert.Equal(2, await done.CountAsync());
        Assert.Equal(1, await failed.CountAsync());
        await WaitForImagesAsync(done.First, ".outputs img", 2);
        Assert.DoesNotContain("blob:", await done.First.Locator(".compare img.before").GetAttributeAsync("src") ?? string.Empty);

        // The same results on a phone-sized screen.
        var phone = await stack.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            DeviceScaleFactor = 2,
            StorageState = await _context!.StorageStateAsync(),
        });
        try
        {
            var phonePage = await phone.NewPageAsync();
            await phonePage.GotoAsync(stack.BaseUrl + "/");
            await WaitUntilSettledAsync(phonePage, 3);
            await WaitForImagesAsync(phonePage.Locator(".card[data-state=done]").First, ".outputs img", 2);
            var overflow = await phonePage.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth + 1");
            Assert.False(overflow, "the page scrolls sideways on a phone");
            await ScreenshotAsync(phonePage, "4-phone.png");
            await phonePage.Locator(".card[data-state=done]").First.ScreenshotAsync(new() { Path = Path.Combine(StackFixture.ArtifactsDirectory, "4-phone-card.png") });
        }
        finally
        {
            await phone.CloseAsync();
        }

        Assert.Empty(_consoleErrors);
    }

    [Fact]
    public async Task A_folder_of_ten_images_is_uploaded_and_every_image_comes_back_aged()
    {
        var page = await OpenAsync(1280, 900);
        var folder = Path.Combine(Path.GetTempPath(), $"aging-folder-{Guid.NewGuid():N}", "characters");
        Directory.CreateDirectory(folder);
        try
        {
            foreach (var source in Directory.GetFiles(Path.Combine(RepoPaths.Root, "tests", "fixtures", "heldout"), "*.png").Order().Take(10))
            {
                File.Copy(source, Path.Combine(folder, Path.GetFileName(source)));
            }
            await File.WriteAllTextAsync(Path.Combine(folder, "notes.txt"), "not an image");

            await Assertions.Expect(page.Locator(".chip")).Not.ToHaveCountAsync(0);
            foreach (var age in await PressedAgesAsync(page))
            {
                if (age is not (40 or 80))
                {
                    await page.Locator($".chip[data-age='{age}']").ClickAsync();
                }
            }
            Assert.Equal(new[] { 40, 80 }, await PressedAgesAsync(page));

            await page.Locator("#pick-folder").SetInputFilesAsync(folder);
            await Assertions.Expect(page.Locator(".card[data-state=ready]")).ToHaveCountAsync(10);
            await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync("Skipped 1 file");
            await page.Locator("#start").ClickAsync();

            await WaitUntilSettledAsync(page, 10);
            await ScreenshotAsync(page, "5-folder.png");
            Assert.Equal(10, await page.Locator(".card[data-state=done]").CountAsync());
            await WaitForImagesAsync(page, ".card[data-state=done] .outputs img", 20);
            await Assertions.Expect(page.Locator("#summary")).ToHaveTextAsync("10 done");
            Assert.Empty(_consoleErrors);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    private async Task<IPage> OpenAsync(int width, int height)
    {
        _context = await stack.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            AcceptDownloads = true,
        });
        await _context.AddInitScriptAsync(StateRecorder);
        var page = await _context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_consoleErrors)
                {
                    _consoleErrors.Add(message.Text);
                }
                output.WriteLine("console error: " + message.Text);
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_consoleErrors)
            {
                _consoleErrors.Add(error);
            }
            output.WriteLine("page error: " + error);
        };
        await page.GotoAsync(stack.BaseUrl + "/");
        await Assertions.Expect(page.Locator(".chip").First).ToBeVisibleAsync();
        return page;
    }

    private async Task<WebFormConfigDto> GetConfigAsync()
    {
        using var http = new HttpClient();
        return (await http.GetFromJsonAsync<WebFormConfigDto>(stack.BaseUrl + "/api/config", new JsonSerializerOptions(JsonSerializerDefaults.Web)))!;
    }

    private static async Task<int[]> PressedAgesAsync(IPage page) =>
        (await page.Locator(".chip[aria-pressed=true]").EvaluateAllAsync<int[]>("chips => chips.map(c => Number(c.dataset.age))")).Order().ToArray();

    /// <summary>Waits until <paramref name="count"/> cards exist and none is on its way any more.</summary>
    private async Task WaitUntilSettledAsync(IPage page, int count)
    {
        try
        {
            await page.WaitForFunctionAsync(
                """
                (count) => {
                  const cards = [...document.querySelectorAll('.card')];
                  return cards.length === count && cards.every(c => ['done', 'failed', 'rejected'].includes(c.dataset.state));
                }
                """,
                count,
                new PageWaitForFunctionOptions { Timeout = (float)s_pipelineTimeout.TotalMilliseconds, PollingInterval = 500 });
        }
        catch (TimeoutException)
        {
            await ScreenshotAsync(page, "timeout.png");
            var cards = await page.Locator(".card").EvaluateAllAsync<string[]>("cards => cards.map(c => c.dataset.state + ': ' + c.textContent.replace(/\\s+/g, ' '))");
            throw new TimeoutException($"Cards did not settle:\n{string.Join("\n", cards)}\n{stack.Logs()}");
        }
    }

    /// <summary>Waits until <paramref name="count"/> images match and all of them are decoded.</summary>
    private static Task WaitForImagesAsync(IPage page, string selector, int count) => WaitForImagesAsync(page.Locator("html"), selector, count);

    private static async Task WaitForImagesAsync(ILocator scope, string selector, int count)
    {
        var images = scope.Locator(selector);
        await Assertions.Expect(images).ToHaveCountAsync(count, new() { Timeout = 30_000 });
        for (var attempt = 0; ; attempt++)
        {
            var widths = await images.EvaluateAllAsync<int[]>("images => images.map(i => i.complete ? i.naturalWidth : -1)");
            if (widths.All(w => w > 0))
            {
                return;
            }
            if (attempt > 150)
            {
                Assert.Fail($"Images {selector} did not decode: naturalWidth {string.Join(", ", widths)}");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>Drops files on an element as a browser does: a DataTransfer with File objects, then the drag events.</summary>
    private static async Task DropFilesAsync(IPage page, string selector, IEnumerable<(string Name, string Type, byte[] Content)> files)
    {
        var payload = files.Select(f => new { name = f.Name, type = f.Type, data = Convert.ToBase64String(f.Content) }).ToArray();
        var dataTransfer = await page.EvaluateHandleAsync(
            """
            (files) => {
              const transfer = new DataTransfer();
              for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: f.type }));
              }
              return transfer;
            }
            """,
            payload);
        foreach (var type in new[] { "dragenter", "dragover", "drop" })
        {
            await page.DispatchEventAsync(selector, type, new { dataTransfer });
        }
    }

    private static async Task ScreenshotAsync(IPage page, string name, bool copyToDocs = false)
    {
        var path = Path.Combine(StackFixture.ArtifactsDirectory, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true, Animations = ScreenshotAnimations.Disabled });
        if (copyToDocs)
        {
            var docs = Path.Combine(RepoPaths.Root, "docs", "screenshots");
            Directory.CreateDirectory(docs);
            File.Copy(path, Path.Combine(docs, "web-form.png"), overwrite: true);
        }
    }

    private static string Heldout(string name) => Path.Combine(RepoPaths.Root, "tests", "fixtures", "heldout", name);

    private sealed record WebFormConfigDto(int[] DefaultAges, int[] PresetAges, int MinAge, int MaxAge, int MaxAgesPerImage, long MaxBytes);
}
