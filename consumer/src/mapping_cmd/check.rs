//! `consumer mapping check`: validates the routes part of a configuration file.

use dingk3::i18n::Lang;
use dingk3::text;

use super::{CheckArgs, EXIT_OK, EXIT_USAGE, describe_config_error, load_routes, print_line};

/// Prints every problem of the file, or a summary of its routes.
pub fn run(args: &CheckArgs, lang: Lang) -> u8 {
    let file = args.config.display();
    match load_routes(&args.config) {
        Ok(routes) => {
            let count = routes.len();
            let summary = text!(
                en: "{file}: valid; routes: {count}",
                zh: "{file}：有效，共 {count} 条路由",
            );
            print_line(summary.get(lang));
            for route in routes.iter() {
                let process_code = &route.process_code;
                let form_id = &route.form_id;
                let mapping = &route.mapping.name;
                let line = text!(
                    en: "  {process_code} → {form_id} (mapping {mapping})",
                    zh: "  {process_code} → {form_id}（映射 {mapping}）",
                );
                print_line(line.get(lang));
            }
            EXIT_OK
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("{}", describe_config_error(&args.config, error).get(lang));
            }
            let count = errors.len();
            let summary = text!(
                en: "{file}: {count} problems; fix the keys above and run the check again",
                zh: "{file}：{count} 个问题；请修正上面列出的配置项后重新检查",
            );
            eprintln!("{}", summary.get(lang));
            EXIT_USAGE
        }
    }
}
