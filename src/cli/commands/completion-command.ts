import { Command } from 'commander'
import { type Context, action } from './context.js'

/**
 * completion: prints a bash completion script built from the command tree itself, so it
 * always lists the commands and options this version has.
 */
export function completionCommand(program: Command, context: Context): Command {
  return new Command('completion')
    .description('print a bash completion script')
    .addHelpText('after', '\nExample:\n  $ coordinate completion > ~/.local/share/bash-completion/completions/coordinate')
    .action(
      action<object>(async () => {
        await context.output.write(bashCompletion(program))
      }),
    )
}

function flagsOf(command: Command): string[] {
  return command.options.flatMap((option) => [option.short, option.long].filter((flag): flag is string => flag !== undefined))
}

/** A bash completion script for the program: subcommands first, then each one's flags. */
export function bashCompletion(program: Command): string {
  const globalFlags = [...flagsOf(program), '--help'].join(' ')
  const cases = program.commands
    .map((command) => `    ${command.name()}) opts="${[...flagsOf(command), '--help'].join(' ')} ${globalFlags}" ;;`)
    .join('\n')
  const names = program.commands.map((command) => command.name()).join(' ')
  return `# bash completion for coordinate
_coordinate() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" sub="" word opts
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case " ${names} " in *" $word "*) sub="$word"; break ;; esac
  done
  case "$sub" in
${cases}
    *) opts="${names} ${globalFlags}" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -o default -F _coordinate coordinate
`
}
