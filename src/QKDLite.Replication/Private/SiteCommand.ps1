# Commands outside a transaction's steps (counting keys, for one) on a remote site with several
# nodes: the first healthy node answers, as Invoke-RemoteStep does for the steps of a transaction,
# and a site reached Via another is reached through its relay (ReplicationRelay.ps1).

function Invoke-SiteCommand {
    <#
    Runs -ScriptBlock with QKDLite loaded on a remote site (a site from ConvertTo-ReplicationNode): on
    its current node, else on the next healthy one. A node whose session cannot be opened, or breaks
    during the call, is passed over with a verbose line saying why (a broken session is reopened once
    first); the site's Current then names the node that answered, and its session stays open for the
    next command. An answer from a node (an error included) ends the search. When no node answers,
    the last connection error is thrown, its message naming every node that was tried. A site
    reached Via another is reached through its relay, as the steps of a transaction are
    (Invoke-RelayedSiteCommand): -ScriptBlock then travels as text and must not rely on this scope.
    #>
    param([Parameter(Mandatory)]$Site, [Parameter(Mandatory)][scriptblock]$ScriptBlock, [object[]]$ArgumentList = @())
    if (Test-RelayedSite $Site) { return Invoke-RelayedSiteCommand -Site $Site -ScriptBlock $ScriptBlock -ArgumentList $ArgumentList }
    $count = $Site.Nodes.Count
    $failures = @()
    $lastError = $null
    for ($i = 0; $i -lt $count; $i++) {
        $index = ($Site.Current + $i) % $count
        $member = $Site.Nodes[$index]
        for ($attempt = 1; $attempt -le 2; $attempt++) {
            try { Open-NodeSession -Member $member }
            catch {
                $lastError = $_
                $failures += "$($member.Name) ($(Get-ErrorSummary $_))"
                Write-Verbose "Remote $($Site.Name): node $($member.Name) is not available ($(Get-ErrorSummary $_))."
                break
            }
            try {
                $null = Invoke-Command -Session $member.Session -ErrorAction Stop -ArgumentList $member.ModulePath -ScriptBlock {
                    param($ModulePath)
                    if (-not (Get-Module -Name QKDLite)) { Import-Module -Name $ModulePath -ErrorAction Stop }
                }
                $output = Invoke-Command -Session $member.Session -ErrorAction Stop -ScriptBlock $ScriptBlock -ArgumentList $ArgumentList
                $Site.Current = $index
                return $output
            }
            catch {
                if (-not (Test-SessionBroken -Session $member.Session -ErrorRecord $_)) { throw }
                $lastError = $_
                if ($attempt -eq 2) { $failures += "$($member.Name) ($(Get-ErrorSummary $_))" }
                Write-Verbose "Remote $($Site.Name): the session to node $($member.Name) broke ($(Get-ErrorSummary $_))."
            }
        }
    }
    if ($count -eq 1) { throw $lastError }
    # The last node's error id, so the failure class stays the same as with one node; every node named.
    $message = "No node of remote $($Site.Name) answered: $($failures -join '; ')."
    $exception = [InvalidOperationException]::new($message, $lastError.Exception)
    throw [System.Management.Automation.ErrorRecord]::new($exception, ($lastError.FullyQualifiedErrorId -replace ',.*$', ''), $lastError.CategoryInfo.Category, $Site.Name)
}
