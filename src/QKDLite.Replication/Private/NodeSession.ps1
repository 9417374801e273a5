# The session to one node of a remote site, opened when first needed and kept for the next call.

function Open-NodeSession {
    <# Opens the session to -Member (a node of a site) unless it is open; a broken one is closed first. Throws the connection error. #>
    param([Parameter(Mandatory)]$Member)
    if ($Member.Session -and $Member.Session.State -eq 'Opened') { return }
    if ($Member.Session -and $Member.OwnsSession) { Remove-PSSession -Session $Member.Session -ErrorAction Ignore }
    $Member.Session = $null
    $connection = $Member.Connection
    $Member.Session = New-ReplicationSession @connection -ErrorAction Stop
    $Member.OwnsSession = $true
}
