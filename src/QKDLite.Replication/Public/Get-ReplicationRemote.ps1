function Get-ReplicationRemote {
    <#
    .SYNOPSIS
        Lists the remote sites configured for replication in this node's node.json.

    .DESCRIPTION
        Get-ReplicationRemote reads the Replication section of the node configuration (node.json in the
        node's data directory) and returns one ReplicationRemote per site: its Name, Via (the site it is
        reached through, or empty) and its Nodes, each with HostName, Port, UserName, KeyFilePath,
        KnownHostsFile (files taken relative to node.json), ModulePath, Kme (the name of that node's KME
        in its own node.json) and ConnectTimeoutSeconds.

        The objects can be given to -Node of the replication functions, which is what -Remote does by
        name. A site lists its nodes in the order they are tried: the first that answers takes the work.

        The section looks like this:

            "Replication": { "Remotes": [
                { "Name": "siteB", "Nodes": [
                    { "HostName": "b1.example.net", "UserName": "qkdlite", "KeyFilePath": "ssh/id_ed25519",
                      "KnownHostsFile": "ssh/known_hosts", "Kme": "LinkB" },
                    { "HostName": "b2.example.net", "UserName": "qkdlite", "KeyFilePath": "ssh/id_ed25519",
                      "KnownHostsFile": "ssh/known_hosts", "Kme": "LinkB" } ] },
                { "Name": "siteC", "Via": "siteB", "HostName": "c.example.net", "Port": 2222,
                  "UserName": "qkdlite", "KeyFilePath": "ssh/id_c", "KnownHostsFile": "ssh/known_hosts_c" } ] }

        A site with one node may give the node's settings at its top level, as siteC does. A site with
        Via is reached through the site it names (a chain A -> B -> C): this node still coordinates and
        journals it as its own participant, and a node of site B relays each of its steps to it over a
        post-quantum SSH session opened from there. The key and known-hosts files of such a site are
        files on the relaying node (a relative path is taken relative to that node's node.json). Via
        must name another site of the section, without a cycle. A section that is not valid is
        reported as ReplicationConfigurationInvalid, naming the problem.

    .PARAMETER Name
        Only the sites with these names (wildcards allowed). A name that matches nothing is an error
        (ReplicationRemoteNotFound).

    .EXAMPLE
        Get-ReplicationRemote

        Lists every configured remote site with its nodes.

    .EXAMPLE
        Get-ReplicationRemote -Name siteB | ForEach-Object Nodes | Test-ReplicationNode

        Checks that every node of site B is ready for replication.

    .OUTPUTS
        QKDLite.ReplicationRemote
    #>
    [CmdletBinding()]
    [OutputType('QKDLite.ReplicationRemote')]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string[]]$Name
    )
    process {
        Get-ConfiguredRemote -Cmdlet $PSCmdlet -Name $Name
    }
}
