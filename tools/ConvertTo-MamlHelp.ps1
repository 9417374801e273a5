<#
.SYNOPSIS
Converts PlatyPS-style cmdlet markdown (docs/en-US/*.md) into one MAML help file for Get-Help.

.DESCRIPTION
PlatyPS is not available here, so this script reads the markdown schema 2.0.0 that PlatyPS 0.14
New-MarkdownHelp writes (one file per cmdlet) and writes the MAML file that Get-Help reads.

For a binary module whose manifest says RootModule = 'bin/<Assembly>.dll', Get-Help looks for
'<Assembly>.dll-Help.xml' in the culture folder next to the MANIFEST (<module root>/en-US/),
not next to the dll: a copy in bin/en-US/ is not found.

The script stops with an error that names the file and the gap when a cmdlet file has no
SYNOPSIS, no DESCRIPTION, no example (or an example without code), or a parameter without
its ```yaml block. All problems of all files are reported together, and no output is written.

Files that are not cmdlet pages are skipped: about_*.md and the PlatyPS module page
(front matter with 'Module Guid').

.PARAMETER Path
Folder with the cmdlet markdown files. Default: docs/en-US under the repository root.

.PARAMETER OutputPath
MAML file to write. Default: en-US/QKDLite.dll-Help.xml under the repository root.

.EXAMPLE
./tools/ConvertTo-MamlHelp.ps1

.EXAMPLE
./tools/ConvertTo-MamlHelp.ps1 -Path ./docs/en-US -OutputPath ./out/QKDLite/en-US/QKDLite.dll-Help.xml
#>
[CmdletBinding()]
param(
    [string] $Path = (Join-Path (Split-Path -Parent $PSScriptRoot) 'docs/en-US'),
    [string] $OutputPath = (Join-Path (Split-Path -Parent $PSScriptRoot) 'en-US/QKDLite.dll-Help.xml')
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$Ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
    MSHelp  = 'http://msdn.microsoft.com/mshelp'
}

# The yaml keys PlatyPS writes in a parameter block. An unknown key is almost always a typo that
# would silently lose information, so it is an error (PlatyPS's own converter does the same).
$KnownYamlKeys = @('Type', 'Parameter Sets', 'Aliases', 'Accepted values', 'Applicable', 'Required',
    'Position', 'Default value', 'Accept pipeline input', 'Accept wildcard characters')

# Internal name for "the one parameter set" of a cmdlet that declares none.
$AllSets = '__AllParameterSets'

#region Markdown reading

# Splits the markdown body into blocks: headings, fenced code blocks and paragraphs
# (runs of non-blank lines). Everything else in the script works on these blocks.
function Get-MarkdownBlocks([string[]] $Lines, [int] $FirstLineNumber) {
    $blocks = [System.Collections.Generic.List[object]]::new()
    $para = [System.Collections.Generic.List[string]]::new()
    $paraStart = 0
    $i = 0
    while ($i -lt $Lines.Count) {
        $line = $Lines[$i]
        $lineNo = $i + $FirstLineNumber
        $fence = [regex]::Match($line, '^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)')
        $heading = [regex]::Match($line, '^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$')
        if ($fence.Success -or $heading.Success -or $line.Trim() -eq '') {
            if ($para.Count -gt 0) {
                $blocks.Add([pscustomobject]@{ Kind = 'Text'; Lines = $para.ToArray(); Line = $paraStart })
                $para.Clear()
            }
        }
        if ($fence.Success) {
            # A fence closes only on the same character, at least as long, with nothing after it.
            $indent = $fence.Groups[1].Value.Length
            $close = '^ {0,3}' + [regex]::Escape($fence.Groups[2].Value.Substring(0, 1)) + '{' + $fence.Groups[2].Value.Length + ',}\s*$'
            $code = [System.Collections.Generic.List[string]]::new()
            $i++
            while ($i -lt $Lines.Count -and $Lines[$i] -notmatch $close) {
                # Drop the fence's own indentation, keep the code's.
                $codeLine = $Lines[$i]
                $strip = [Math]::Min($indent, $codeLine.Length - $codeLine.TrimStart(' ').Length)
                $code.Add($codeLine.Substring($strip))
                $i++
            }
            if ($i -ge $Lines.Count) { throw "line ${lineNo}: code fence is never closed" }
            $blocks.Add([pscustomobject]@{ Kind = 'Code'; Lang = $fence.Groups[3].Value.ToLowerInvariant(); Text = ($code -join "`n"); Line = $lineNo })
        }
        elseif ($heading.Success) {
            $blocks.Add([pscustomobject]@{ Kind = 'Heading'; Level = $heading.Groups[1].Value.Length; Text = $heading.Groups[2].Value; Line = $lineNo })
        }
        elseif ($line.Trim() -ne '') {
            if ($para.Count -eq 0) { $paraStart = $lineNo }
            $para.Add($line)
        }
        $i++
    }
    if ($para.Count -gt 0) { $blocks.Add([pscustomobject]@{ Kind = 'Text'; Lines = $para.ToArray(); Line = $paraStart }) }
    return , $blocks
}

# Turns prose blocks into MAML paragraphs. Wrapped lines of one markdown paragraph are joined
# with spaces so Get-Help can re-wrap them to the console width; each list item gets its own
# paragraph; a code block inside prose stays one paragraph with its line breaks.
function ConvertTo-Paragraphs($Blocks) {
    $paras = [System.Collections.Generic.List[string]]::new()
    foreach ($block in $Blocks) {
        if ($block.Kind -eq 'Code') { $paras.Add($block.Text); continue }
        $current = $null
        foreach ($line in $block.Lines) {
            if ($line -match '^\s*([-*+]|\d+[.)])\s+') {
                if ($null -ne $current) { $paras.Add($current) }
                $current = $line.Trim()
            }
            elseif ($null -eq $current) { $current = $line.Trim() }
            else { $current = $current + ' ' + $line.Trim() }
        }
        if ($null -ne $current) { $paras.Add($current) }
    }
    return , $paras.ToArray()
}

# Reads the simple "Key: value" lines of a parameter's ```yaml block.
function ConvertFrom-ParameterYaml($Block) {
    $yaml = @{}
    foreach ($line in ($Block.Text -split "`n")) {
        if ($line.Trim() -eq '') { continue }
        $colon = $line.IndexOf(':')
        if ($colon -lt 1) { throw "line $($Block.Line): yaml line '$line' is not 'Key: value'" }
        $key = $line.Substring(0, $colon).Trim()
        if ($KnownYamlKeys -notcontains $key) { throw "line $($Block.Line): unknown yaml key '$key' (known: $($KnownYamlKeys -join ', '))" }
        $yaml[$key] = $line.Substring($colon + 1).Trim()
    }
    if (-not $yaml.ContainsKey('Type') -or $yaml['Type'] -eq '') { throw "line $($Block.Line): yaml block has no 'Type:'" }
    return $yaml
}

#endregion

#region One markdown file -> one command model

# Reads one cmdlet page. Problems that make the help incomplete go to $Problems (so every
# gap in every file is reported in one run); malformed markdown throws straight away.
function Read-CommandMarkdown([string] $File, [System.Collections.Generic.List[string]] $Problems) {
    $name = Split-Path -Leaf $File
    $lines = [System.IO.File]::ReadAllText($File, [System.Text.Encoding]::UTF8) -split '\r?\n'

    # YAML front matter between the first two '---' lines.
    $front = @{}
    $bodyStart = 0
    if ($lines.Count -gt 0 -and $lines[0].Trim() -eq '---') {
        $end = 1
        while ($end -lt $lines.Count -and $lines[$end].Trim() -ne '---') {
            if ($lines[$end] -match '^\s*([^:]+?)\s*:\s*(.*?)\s*$') { $front[$Matches[1]] = $Matches[2] }
            $end++
        }
        if ($end -ge $lines.Count) { throw "front matter '---' is never closed" }
        $bodyStart = $end + 1
    }
    if ($front.ContainsKey('Module Guid')) { return $null }   # the PlatyPS module page, not a cmdlet

    $bodyLines = if ($bodyStart -lt $lines.Count) { $lines[$bodyStart..($lines.Count - 1)] } else { @() }
    $blocks = Get-MarkdownBlocks $bodyLines ($bodyStart + 1)

    # Group the blocks: '# Name', then '## SECTION's, each a list of entries ('### Title' + blocks;
    # the entry with Title $null holds what comes before the first ###).
    $commandName = $null
    $sections = [ordered]@{}
    $entries = $null
    foreach ($block in $blocks) {
        if ($block.Kind -eq 'Heading') {
            switch ($block.Level) {
                1 {
                    if ($null -ne $commandName) { throw "line $($block.Line): second '# ' heading; one cmdlet per file" }
                    $commandName = $block.Text
                }
                2 {
                    $section = $block.Text.ToUpperInvariant()
                    if (@('SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS', 'INPUTS', 'OUTPUTS', 'NOTES', 'RELATED LINKS') -notcontains $section) {
                        throw "line $($block.Line): unknown section '## $($block.Text)'"
                    }
                    if ($sections.Contains($section)) { throw "line $($block.Line): section '## $section' appears twice" }
                    $entries = [System.Collections.Generic.List[object]]::new()
                    $entries.Add([pscustomobject]@{ Title = $null; Blocks = [System.Collections.Generic.List[object]]::new(); Line = $block.Line })
                    $sections[$section] = $entries
                }
                3 {
                    if ($null -eq $entries) { throw "line $($block.Line): '### $($block.Text)' outside any '## ' section" }
                    $entries.Add([pscustomobject]@{ Title = $block.Text; Blocks = [System.Collections.Generic.List[object]]::new(); Line = $block.Line })
                }
                default { throw "line $($block.Line): heading level $($block.Level) is not part of the schema (use ## or ###)" }
            }
        }
        elseif ($null -eq $entries) { throw "line $($block.Line): content before the first '## ' section" }
        else { $entries[$entries.Count - 1].Blocks.Add($block) }
    }

    if ($null -eq $commandName) { throw "no '# Verb-Noun' heading" }
    if ($commandName -notmatch '^([A-Za-z]+)-(\S+)$') { throw "heading '# $commandName' is not a Verb-Noun cmdlet name" }
    $cmd = [ordered]@{
        Name = $commandName; Verb = $Matches[1]; Noun = $Matches[2]; File = $name
        HelpFile = $(if ($front.ContainsKey('external help file')) { $front['external help file'] } else { '' })
        Synopsis = @(); Description = @(); Sets = @(); Parameters = @(); Examples = @()
        Inputs = @(); Outputs = @(); Notes = @(); Links = @()
    }
    if ([System.IO.Path]::GetFileNameWithoutExtension($name) -ne $commandName) {
        Write-Warning "${name}: heading is '# $commandName' but the file name says otherwise"
    }

    # SYNOPSIS, DESCRIPTION and NOTES are plain prose without '###' entries.
    foreach ($section in 'SYNOPSIS', 'DESCRIPTION', 'NOTES') {
        if (-not $sections.Contains($section)) { continue }
        $sectionEntries = $sections[$section]
        if ($sectionEntries.Count -gt 1) { throw "line $($sectionEntries[1].Line): '### ' heading inside '## $section'" }
        $cmd[$section.Substring(0, 1) + $section.Substring(1).ToLowerInvariant()] = ConvertTo-Paragraphs $sectionEntries[0].Blocks
    }
    if ($cmd.Synopsis.Count -eq 0) { $Problems.Add("${name}: '## SYNOPSIS' is missing or empty") }
    if ($cmd.Description.Count -eq 0) { $Problems.Add("${name}: '## DESCRIPTION' is missing or empty") }

    # SYNTAX: one '### SetName' (+ ' (Default)') per parameter set, each with a code block. A
    # single code block without a heading means the cmdlet has one unnamed set. The code text is
    # used only for the order of parameters; which parameter is in which set comes from the yaml.
    $setOrder = @{}
    $setNames = [System.Collections.Generic.List[string]]::new()
    if ($sections.Contains('SYNTAX')) {
        foreach ($entry in $sections['SYNTAX']) {
            $code = @($entry.Blocks | Where-Object Kind -EQ 'Code')
            if ($null -eq $entry.Title) {
                if ($code.Count -eq 0) { continue }
                $setName = $AllSets
            }
            else {
                $setName = $entry.Title -replace '\s*\(Default\)\s*$', ''
                if ($code.Count -eq 0) { $Problems.Add("${name}: syntax '### $($entry.Title)' has no code block") }
            }
            $setNames.Add($setName)
            $setOrder[$setName] = ($code | ForEach-Object Text) -join "`n"
        }
    }

    # PARAMETERS: '### -Name', description, then one ```yaml block per group of parameter sets
    # that share the same metadata. '### CommonParameters' is only boilerplate.
    $parameters = [System.Collections.Generic.List[object]]::new()
    if ($sections.Contains('PARAMETERS')) {
        foreach ($entry in $sections['PARAMETERS']) {
            if ($null -eq $entry.Title) {
                if ($entry.Blocks.Count -gt 0) { throw "line $($entry.Blocks[0].Line): text in '## PARAMETERS' before the first '### -Name'" }
                continue
            }
            if ($entry.Title -in 'CommonParameters', 'WorkflowParameters') { continue }
            $paramName = $entry.Title.TrimStart('-')
            $yamlBlocks = @($entry.Blocks | Where-Object { $_.Kind -eq 'Code' -and $_.Lang -eq 'yaml' })
            if ($yamlBlocks.Count -eq 0) {
                $Problems.Add("${name}: parameter '-$paramName' has no ``````yaml block (Type, Parameter Sets, Required, Position, ...)")
                continue
            }
            try { $yaml = @($yamlBlocks | ForEach-Object { ConvertFrom-ParameterYaml $_ }) }
            catch { $Problems.Add("${name}: parameter '-$paramName', $($_.Exception.Message)"); continue }
            $parameters.Add([pscustomobject]@{
                    Name        = $paramName
                    Description = ConvertTo-Paragraphs @($entry.Blocks | Where-Object { -not ($_.Kind -eq 'Code' -and $_.Lang -eq 'yaml') })
                    Yaml        = $yaml
                })
        }
    }
    $cmd.Parameters = $parameters.ToArray()

    # A parameter set named in yaml but not in SYNTAX is a typo. Without SYNTAX, the yaml's
    # set names are all there is.
    $syntaxHasSets = $setNames.Count -gt 0
    foreach ($param in $parameters) {
        foreach ($yaml in $param.Yaml) {
            foreach ($set in (Get-YamlSets $yaml)) {
                if ($setNames -contains $set) { continue }
                if ($syntaxHasSets) { $Problems.Add("${name}: parameter '-$($param.Name)' names parameter set '$set', which '## SYNTAX' does not have") }
                else { $setNames.Add($set) }
            }
        }
    }
    if ($setNames.Count -eq 0) { $setNames.Add($AllSets) }

    # One syntax item per set: the parameters whose yaml covers that set, in the order the set's
    # syntax line shows them (parameters it does not show go last, in PARAMETERS order).
    $cmd.Sets = @(foreach ($set in $setNames) {
        $text = if ($setOrder.ContainsKey($set)) { $setOrder[$set] } else { '' }
        $index = 0
        $members = foreach ($param in $parameters) {
            $index++
            $yaml = $param.Yaml | Where-Object { $sets = Get-YamlSets $_; $sets.Count -eq 0 -or $sets -contains $set } | Select-Object -First 1
            if ($null -eq $yaml) { continue }
            $match = [regex]::Match($text, '(?<![\w-])-' + [regex]::Escape($param.Name) + '(?![\w-])', 'IgnoreCase')
            [pscustomobject]@{ Param = $param; Yaml = $yaml; Index = $index; Order = $(if ($match.Success) { $match.Index } else { [int]::MaxValue }) }
        }
        [pscustomobject]@{ Name = $set; Members = @($members | Sort-Object Order, Index) }
    })

    # EXAMPLES: '### Example N: title', code block(s), then remarks. Code blocks that follow
    # each other directly (command + output) form the code; prose and any later code go to the
    # remarks in their original order. Text before the first code block also goes to the
    # remarks (first), because Get-Help prints maml:introduction glued to the code like a prompt.
    if ($sections.Contains('EXAMPLES')) {
        $cmd.Examples = @(foreach ($entry in $sections['EXAMPLES']) {
            if ($null -eq $entry.Title) {
                if ($entry.Blocks.Count -gt 0) { throw "line $($entry.Blocks[0].Line): text in '## EXAMPLES' before the first '### Example'" }
                continue
            }
            $intro = @(); $code = @(); $remarks = @()
            foreach ($block in $entry.Blocks) {
                if ($remarks.Count -eq 0 -and $block.Kind -eq 'Code') { $code += $block.Text }
                elseif ($code.Count -eq 0) { $intro += $block }
                else { $remarks += $block }
            }
            if ($code.Count -eq 0) { $Problems.Add("${name}: example '### $($entry.Title)' has no code block") }
            # PlatyPS pads titles with dashes itself (see Write-Command); strip any the writer typed.
            [pscustomobject]@{ Title = $entry.Title.Trim(' ', '-'); Code = ($code -join "`n`n"); Remarks = ConvertTo-Paragraphs ($intro + $remarks) }
        })
    }
    if ($cmd.Examples.Count -eq 0) { $Problems.Add("${name}: '## EXAMPLES' is missing or has no '### Example' entry") }

    # INPUTS / OUTPUTS: '### TypeName' + optional description.
    foreach ($section in 'INPUTS', 'OUTPUTS') {
        if (-not $sections.Contains($section)) { continue }
        $cmd[$section.Substring(0, 1) + $section.Substring(1).ToLowerInvariant()] = @(foreach ($entry in $sections[$section]) {
            if ($null -eq $entry.Title) {
                if ($entry.Blocks.Count -gt 0) { throw "line $($entry.Blocks[0].Line): text in '## $section' must follow a '### TypeName' heading" }
                continue
            }
            [pscustomobject]@{ Type = $entry.Title; Description = ConvertTo-Paragraphs $entry.Blocks }
        })
    }

    # RELATED LINKS: '[text](uri)' lines. PlatyPS's 'online version' goes first, because
    # Get-Help -Online opens the first link that has a URI. Relative links (Other-Cmdlet.md)
    # mean nothing outside the docs folder, so only their text is kept.
    $links = [System.Collections.Generic.List[object]]::new()
    if ($front.ContainsKey('online version') -and $front['online version'] -match '^https?://') {
        $links.Add([pscustomobject]@{ Text = 'Online Version:'; Uri = $front['online version'] })
    }
    if ($sections.Contains('RELATED LINKS')) {
        foreach ($entry in $sections['RELATED LINKS']) {
            if ($null -ne $entry.Title) { throw "line $($entry.Line): '### ' heading inside '## RELATED LINKS'" }
            foreach ($line in ($entry.Blocks | Where-Object Kind -EQ 'Text' | ForEach-Object Lines)) {
                $found = [regex]::Matches($line, '\[([^\]]*)\]\(\s*<?([^)>\s]*)>?\s*\)')
                foreach ($m in $found) {
                    $uri = if ($m.Groups[2].Value -match '^https?://') { $m.Groups[2].Value } else { '' }
                    $links.Add([pscustomobject]@{ Text = $m.Groups[1].Value; Uri = $uri })
                }
                if ($found.Count -eq 0) { $links.Add([pscustomobject]@{ Text = $line.Trim(); Uri = '' }) }
            }
        }
    }
    $cmd.Links = $links.ToArray()

    return [pscustomobject]$cmd
}

# The parameter sets a yaml block applies to; empty means all of them ('(All)' or blank).
function Get-YamlSets($Yaml) {
    $value = if ($Yaml.ContainsKey('Parameter Sets')) { $Yaml['Parameter Sets'] } else { '' }
    if ($value -eq '' -or $value -eq '(All)') { return , @() }
    return , @($value -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ -ne '' })
}

#endregion

#region MAML writing (XmlWriter does all escaping)

function Write-Paras([System.Xml.XmlWriter] $W, [string] $Prefix, [string] $Local, $Paras) {
    $W.WriteStartElement($Prefix, $Local, $Ns[$Prefix])
    foreach ($p in $Paras) { $W.WriteElementString('maml', 'para', $Ns.maml, $p) }
    $W.WriteEndElement()
}

function Write-Parameter([System.Xml.XmlWriter] $W, $Param, $Yaml, [bool] $InSyntax) {
    $type = $Yaml['Type']
    if ($type -eq 'switch') { $type = 'SwitchParameter' }
    $flag = { param($key) if ($Yaml.ContainsKey($key) -and $Yaml[$key] -eq 'True') { 'true' } else { 'false' } }
    $position = if ($Yaml.ContainsKey('Position') -and $Yaml['Position'] -ne '') { $Yaml['Position'] } else { 'Named' }
    if ($position -eq 'Named') { $position = 'named' }
    $aliases = if ($Yaml.ContainsKey('Aliases') -and $Yaml['Aliases'] -ne '') { $Yaml['Aliases'] } else { 'none' }
    $pipeline = if ($Yaml.ContainsKey('Accept pipeline input') -and $Yaml['Accept pipeline input'] -ne '') { $Yaml['Accept pipeline input'] } else { 'False' }
    $default = if ($Yaml.ContainsKey('Default value') -and $Yaml['Default value'] -ne '') { $Yaml['Default value'] } else { 'None' }

    $W.WriteStartElement('command', 'parameter', $Ns.command)
    $W.WriteAttributeString('required', (& $flag 'Required'))
    $W.WriteAttributeString('variableLength', $(if ($type.EndsWith('[]')) { 'true' } else { 'false' }))
    $W.WriteAttributeString('globbing', (& $flag 'Accept wildcard characters'))
    $W.WriteAttributeString('pipelineInput', $pipeline)
    $W.WriteAttributeString('position', $position)
    $W.WriteAttributeString('aliases', $aliases)
    $W.WriteElementString('maml', 'name', $Ns.maml, $Param.Name)
    Write-Paras $W 'maml' 'description' $Param.Description
    # In syntax, accepted values render as '-Size {Small | Large}'.
    if ($InSyntax -and $Yaml.ContainsKey('Accepted values') -and $Yaml['Accepted values'] -ne '') {
        $W.WriteStartElement('command', 'parameterValueGroup', $Ns.command)
        foreach ($value in ($Yaml['Accepted values'] -split ',')) {
            $W.WriteStartElement('command', 'parameterValue', $Ns.command)
            $W.WriteAttributeString('required', 'false')
            $W.WriteAttributeString('variableLength', 'false')
            $W.WriteString($value.Trim())
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }
    # A switch gets no value in syntax, otherwise Get-Help shows '[-Force <SwitchParameter>]'.
    if (-not ($InSyntax -and $type -eq 'SwitchParameter')) {
        $W.WriteStartElement('command', 'parameterValue', $Ns.command)
        $W.WriteAttributeString('required', $(if ($type -eq 'SwitchParameter') { 'false' } else { 'true' }))
        $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($type)
        $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $Ns.dev)
    $W.WriteElementString('maml', 'name', $Ns.maml, $type)
    $W.WriteElementString('maml', 'uri', $Ns.maml, '')
    $W.WriteEndElement()
    $W.WriteElementString('dev', 'defaultValue', $Ns.dev, $default)
    $W.WriteEndElement()
}

function Write-Command([System.Xml.XmlWriter] $W, $Cmd) {
    $W.WriteStartElement('command', 'command', $Ns.command)

    $W.WriteStartElement('command', 'details', $Ns.command)
    $W.WriteElementString('command', 'name', $Ns.command, $Cmd.Name)
    $W.WriteElementString('command', 'verb', $Ns.command, $Cmd.Verb)
    $W.WriteElementString('command', 'noun', $Ns.command, $Cmd.Noun)
    Write-Paras $W 'maml' 'description' $Cmd.Synopsis
    $W.WriteEndElement()

    Write-Paras $W 'maml' 'description' $Cmd.Description

    $W.WriteStartElement('command', 'syntax', $Ns.command)
    foreach ($set in $Cmd.Sets) {
        $W.WriteStartElement('command', 'syntaxItem', $Ns.command)
        $W.WriteElementString('maml', 'name', $Ns.maml, $Cmd.Name)
        foreach ($member in $set.Members) { Write-Parameter $W $member.Param $member.Yaml $true }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    # The parameter list shows each parameter once, with its first yaml block (as PlatyPS does).
    $W.WriteStartElement('command', 'parameters', $Ns.command)
    foreach ($param in $Cmd.Parameters) { Write-Parameter $W $param $param.Yaml[0] $false }
    $W.WriteEndElement()

    foreach ($kind in @(@('inputTypes', 'inputType', $Cmd.Inputs), @('returnValues', 'returnValue', $Cmd.Outputs))) {
        $W.WriteStartElement('command', $kind[0], $Ns.command)
        foreach ($io in $kind[2]) {
            $W.WriteStartElement('command', $kind[1], $Ns.command)
            $W.WriteStartElement('dev', 'type', $Ns.dev)
            $W.WriteElementString('maml', 'name', $Ns.maml, $io.Type)
            $W.WriteEndElement()
            Write-Paras $W 'maml' 'description' $io.Description
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }

    if ($Cmd.Notes.Count -gt 0) {
        $W.WriteStartElement('maml', 'alertSet', $Ns.maml)
        Write-Paras $W 'maml' 'alert' $Cmd.Notes
        $W.WriteEndElement()
    }

    $W.WriteStartElement('command', 'examples', $Ns.command)
    foreach ($example in $Cmd.Examples) {
        $W.WriteStartElement('command', 'example', $Ns.command)
        # Dashes around the title are how Get-Help sets examples apart (PlatyPS writes them too).
        $W.WriteElementString('maml', 'title', $Ns.maml, "---------- $($example.Title) ----------")
        $W.WriteElementString('dev', 'code', $Ns.dev, $example.Code)
        # The trailing empty paragraph puts a blank line before the next example's title.
        Write-Paras $W 'dev' 'remarks' (@($example.Remarks) + '')
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'relatedLinks', $Ns.command)
    foreach ($link in $Cmd.Links) {
        $W.WriteStartElement('maml', 'navigationLink', $Ns.maml)
        $W.WriteElementString('maml', 'linkText', $Ns.maml, $link.Text)
        $W.WriteElementString('maml', 'uri', $Ns.maml, $link.Uri)
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteEndElement()
}

#endregion

# .NET file APIs resolve relative paths against the process directory, not the PowerShell
# location, so resolve both paths the PowerShell way first.
$Path = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
$OutputPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutputPath)
if (-not (Test-Path -LiteralPath $Path -PathType Container)) { throw "Markdown folder '$Path' does not exist." }

$problems = [System.Collections.Generic.List[string]]::new()
$commands = [System.Collections.Generic.List[object]]::new()
$files = Get-ChildItem -LiteralPath $Path -Filter '*.md' -File | Where-Object Name -NotLike 'about_*' | Sort-Object Name
foreach ($file in $files) {
    try {
        $cmd = Read-CommandMarkdown $file.FullName $problems
        if ($null -eq $cmd) { Write-Verbose "Skipping $($file.Name): module page, not a cmdlet"; continue }
        if ($commands | Where-Object Name -EQ $cmd.Name) { $problems.Add("$($file.Name): cmdlet '$($cmd.Name)' is documented twice"); continue }
        # The front matter names the help file the cmdlet's assembly expects; a different output
        # name means Get-Help would never look at this file for that cmdlet.
        if ($cmd.HelpFile -ne '' -and $cmd.HelpFile -ne (Split-Path -Leaf $OutputPath)) {
            Write-Warning "$($file.Name): front matter says 'external help file: $($cmd.HelpFile)', but the output is '$(Split-Path -Leaf $OutputPath)'"
        }
        $commands.Add($cmd)
    }
    catch { $problems.Add("$($file.Name): $($_.Exception.Message)") }
}
if ($problems.Count -gt 0) {
    throw ("Help markdown in '$Path' is incomplete; '$OutputPath' was not written:`n  " + ($problems -join "`n  "))
}
if ($commands.Count -eq 0) { throw "No cmdlet markdown files (*.md) in '$Path'." }

$outDir = Split-Path -Parent $OutputPath
if (-not (Test-Path -LiteralPath $outDir)) { $null = New-Item -ItemType Directory -Path $outDir }

$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$writer = [System.Xml.XmlWriter]::Create($OutputPath, $settings)
try {
    $writer.WriteStartDocument()
    $writer.WriteStartElement('helpItems')
    $writer.WriteAttributeString('schema', 'maml')
    # Declare the prefixes once on the root instead of on every element.
    foreach ($prefix in 'maml', 'command', 'dev', 'MSHelp') { $writer.WriteAttributeString('xmlns', $prefix, $null, $Ns[$prefix]) }
    foreach ($cmd in $commands) { Write-Command $writer $cmd }
    $writer.WriteEndElement()
    $writer.WriteEndDocument()
}
finally { $writer.Dispose() }

# One line for build logs; nothing goes to the pipeline.
Write-Host "Wrote $OutputPath ($($commands.Count) cmdlets: $(($commands | ForEach-Object Name) -join ', '))"
