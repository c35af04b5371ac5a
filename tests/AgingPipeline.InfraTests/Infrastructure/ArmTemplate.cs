using System.Text.Json.Nodes;

namespace AgingPipeline.InfraTests.Infrastructure;

/// <summary>Walks a compiled ARM template, nested module deployments included.</summary>
public static class ArmTemplate
{
    /// <summary>Every resource of <paramref name="type"/> (case-insensitive), in this template and every nested one.</summary>
    public static IReadOnlyList<JsonObject> Resources(JsonNode template, string type)
    {
        var found = new List<JsonObject>();
        Collect(template, type, found);
        return found;
    }

    private static void Collect(JsonNode? node, string type, List<JsonObject> found)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj["type"] is JsonValue value && value.TryGetValue<string>(out var t) && string.Equals(t, type, StringComparison.OrdinalIgnoreCase)
                    && obj.ContainsKey("properties") | obj.ContainsKey("name"))
                {
                    found.Add(obj);
                }
                foreach (var (_, child) in obj)
                {
                    Collect(child, type, found);
                }
                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Collect(child, type, found);
                }
                break;
        }
    }
}
