using Xunit;

namespace QKDLite.EtsiServer.Tests;

// The ETSI suite once more against a Hybrid listener: every call through a BouncyCastle client that
// negotiates X25519MLKEM768 (TlsTests keeps its platform clients: classical TLS 1.2 and 1.3 must be served there too).

[Collection(HybridServerCollection.Name)]
public sealed class HybridEndpointTests(HybridServerFixture server) : EndpointTests(server);

[Collection(HybridServerCollection.Name)]
public sealed class HybridAuthorizationTests(HybridServerFixture server) : AuthorizationTests(server);

[Collection(HybridServerCollection.Name)]
public sealed class HybridConcurrencyTests(HybridServerFixture server) : ConcurrencyTests(server);

[Collection(HybridServerCollection.Name)]
public sealed class HybridTlsTests(HybridServerFixture server) : TlsTests(server);
