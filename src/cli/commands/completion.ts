/**
 * `memplan completion bash|zsh`: a completion script built from the registered commands and their
 * options, so it never lists a command or option that does not exist. Cards complete from presets/.
 */
import type { Command } from 'commander';
import { MemplanError } from '../../core/errors.js';
import type { CommandContext } from '../context.js';
import { examplesText } from '../common.js';
import { loadPresets } from '../../io/load.js';

interface Spec {
  commands: { name: string; options: string[] }[];
  gpus: string[];
}

function specOf(program: Command): Spec {
  const commands = program.commands.map((c) => ({ name: c.name(), options: [...c.options.map((o) => o.long ?? o.short ?? ''), '--help'].filter(Boolean) }));
  const gpus = [...loadPresets().values()].flatMap((p) => [p.id, ...(p.aliases ?? [])]);
  return { commands, gpus };
}

export function bashScript(s: Spec): string {
  const cases = s.commands.map((c) => `    ${c.name}) opts="${c.options.join(' ')}" ;;`).join('\n');
  return `# memplan bash completion: eval "$(memplan completion bash)" (e.g. in ~/.bashrc)
_memplan() {
  local cur prev cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${s.commands.map((c) => c.name).join(' ')} --help --version" -- "$cur") )
    return
  fi
  case "$prev" in
    --gpu) COMPREPLY=( $(compgen -W "${s.gpus.join(' ')}" -- "$cur") ); return ;;
    --format) COMPREPLY=( $(compgen -W "table json markdown github junit html svg" -- "$cur") ); return ;;
    --units) COMPREPLY=( $(compgen -W "binary decimal both" -- "$cur") ); return ;;
    --edge) COMPREPLY=( $(compgen -W "low expected high" -- "$cur") ); return ;;
    --presets) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
  esac
  case "$cmd" in
${cases}
    *) opts="--help" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur") )
  fi
}
complete -o filenames -F _memplan memplan
`;
}

export function zshScript(s: Spec): string {
  const cmds = s.commands.map((c) => `'${c.name}'`).join(' ');
  const cases = s.commands.map((c) => `    ${c.name}) _arguments ${c.options.map((o) => `'${o}${o === '--gpu' ? `[card]:card:(${s.gpus.join(' ')})` : o === '--units' ? '[units]:units:(binary decimal both)' : o === '--edge' ? '[edge]:edge:(low expected high)' : ''}'`).join(' ')} '*:config:_files -g "*.(yaml|yml)"' ;;`).join('\n');
  return `#compdef memplan
# memplan zsh completion: eval "$(memplan completion zsh)" (e.g. in ~/.zshrc, after compinit)
_memplan() {
  if (( CURRENT == 2 )); then
    compadd -- ${cmds} --help --version
    return
  fi
  case "\${words[2]}" in
${cases}
  esac
}
compdef _memplan memplan
`;
}

export function registerCompletion(program: Command, ctx: CommandContext): void {
  program
    .command('completion <shell>')
    .description('print a shell completion script: bash or zsh')
    .addHelpText('after', examplesText(['eval "$(memplan completion bash)"   # in ~/.bashrc', 'eval "$(memplan completion zsh)"    # in ~/.zshrc, after compinit']))
    .action((shell: string) => {
      const s = specOf(program);
      if (shell === 'bash') ctx.io.stdout.write(bashScript(s));
      else if (shell === 'zsh') ctx.io.stdout.write(zshScript(s));
      else throw new MemplanError('E_OPTION', `no completion for shell "${shell}"`, { path: 'completion', expected: 'bash or zsh' });
    });
}
